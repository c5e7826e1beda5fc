"""Models: one LightningModule per method, all scored by the shared evaluation of `models.base`.

`MODELS` maps the short names used on the command line to the classes.
"""
from __future__ import annotations

from models.base import TranslationModel
from models.cgan import Pix2PixModel
from models.cyclegan import CycleGANModel
from models.figan import FIGANModel, FIGANNoTGModel, FIGANTG1Model, FIGANTGNModel
from models.figan_tgft import FIGANTGFTModel
from models.identity import IdentityModel
from models.lohiresgan import LoHiResGANModel
from models.nlmeans import NLMeansModel
from models.richardson_lucy import RichardsonLucyModel
from models.srgan import SRGANModel
from models.unet import UNetModel

MODELS: dict[str, type[TranslationModel]] = {
    "identity": IdentityModel,
    "unet": UNetModel,
    "lohiresgan": LoHiResGANModel,
    "cgan": Pix2PixModel,
    "cyclegan": CycleGANModel,
    "srgan": SRGANModel,
    "figan-notg": FIGANNoTGModel,
    "figan-tg1": FIGANTG1Model,
    "figan-tg": FIGANModel,
    "figan-tgn": FIGANTGNModel,
    "figan-tgft": FIGANTGFTModel,
    "nlmeans": NLMeansModel,
    "richardson-lucy": RichardsonLucyModel,
}
