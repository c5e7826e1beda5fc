"""`lohiresgan`: LoHiResGAN (Islam et al., "Improving portable low-field MRI image quality through image-to-
image translation using paired low- and high-resolution images", Sci. Rep. 2023).

The paper describes a conditional GAN with a ResNet generator and a PatchGAN discriminator but publishes no
training code, so these choices follow pix2pix/CycleGAN conventions and are configurable:
- generator: 7x7 conv, two stride-2 down-samplings, 9 residual blocks, two up-samplings, 7x7 conv (CycleGAN's
  ResNet generator) with batch norm, pix2pix's default for a paired cGAN (``g_norm``; "instance" is
  CycleGAN's). Why not instance norm: it normalises away each image's intensity level, which the generator
  then cannot restore without an input skip: on the quick preset instance norm ended below the input on
  FMD and x4 fluorescence, where batch norm passes it;
- discriminator: 70x70 PatchGAN on the channel concatenation of source and output (conditional), batch norm;
- loss: vanilla adversarial (BCE on logits) + 100 x L1 measured on [-1, 1] images (`losses.pixel`);
  discriminator loss halved (pix2pix);
- Adam 2e-4, betas (0.5, 0.999); constant learning rate for the first half of training, linear decay to zero
  over the second half; weights from N(0, 0.02).
"""
from __future__ import annotations

from typing import Any, ClassVar

import torch

from benchmark.option_types import ClosedUnitInterval, NonNegativeFloat, PositiveFloat, PositiveInt
from models import register_model
from models.gan_base import GANModel
from models.losses.gan import GANMode, adversarial_loss
from models.losses.pixel import paper_l1
from models.networks.layers import Norm, init_normal
from models.networks.patchgan import PatchDiscriminator
from models.networks.resnet_generator import ResnetGenerator


class ConditionalGANModel(GANModel):
    """A generator judged by a conditional PatchGAN, with an L1 term: the pix2pix objective."""

    def generate(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        return {"fake": self.predict_batch(batch)}

    def discriminator_loss(self, batch: dict[str, Any], fakes: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        source, mode = batch[self.input_key], self.hparams.gan_mode
        real_logits = self.discriminator(torch.cat([source, batch["target"]], 1))
        fake_logits = self.discriminator(torch.cat([source, fakes["fake"]], 1))
        return {"real": 0.5 * adversarial_loss(real_logits, True, mode),
                "fake": 0.5 * adversarial_loss(fake_logits, False, mode)}

    def generator_loss(self, batch: dict[str, Any], fakes: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        fake = fakes["fake"]
        logits = self.discriminator(torch.cat([batch[self.input_key], fake], 1))
        return {"adv": adversarial_loss(logits, True, self.hparams.gan_mode),
                "l1": self.hparams.lambda_l1 * paper_l1(fake, batch["target"])}

    def networks(self) -> dict[str, torch.nn.Module]:
        return {"generator": self.generator, "discriminator": self.discriminator}


@register_model("lohiresgan")
class LoHiResGANModel(ConditionalGANModel):
    presets: ClassVar[dict[str, dict[str, dict[str, Any]]]] = {
        "smoke": {"model": {"ngf": 8, "ndf": 8, "num_blocks": 2}},
        # ngf 16, 6 blocks (a quarter of the paper width's compute per image): the quick matrix stays
        # affordable on a laptop CPU.
        "quick": {"model": {"ngf": 16, "ndf": 16, "num_blocks": 6}, "trainer": {"max_epochs": 15}},
        # 100 epochs at constant lr + 100 with linear decay (pix2pix schedule), batch 1, 256x256 slices.
        "paper": {"trainer": {"max_epochs": 200}, "data": {"batch_size": 1}},
    }

    def __init__(self, in_channels: int = 1, out_channels: int = 1, image_size: int = 256, ngf: PositiveInt = 64,
                 num_blocks: PositiveInt = 9, ndf: PositiveInt = 64, g_norm: Norm = "batch", d_norm: Norm = "batch",
                 gan_mode: GANMode = "vanilla", lambda_l1: NonNegativeFloat = 100.0, lr: PositiveFloat = 2e-4, beta1: ClosedUnitInterval = 0.5,
                 beta2: ClosedUnitInterval = 0.999, decay_fraction: ClosedUnitInterval = 0.5) -> None:
        super().__init__(in_channels, out_channels, image_size)
        self.save_hyperparameters()
        self.lr, self.betas, self.decay_fraction = lr, (beta1, beta2), decay_fraction
        self.generator = init_normal(ResnetGenerator(in_channels, out_channels, ngf, num_blocks, g_norm))
        self.discriminator = init_normal(PatchDiscriminator(in_channels + out_channels, ndf, 3, d_norm))
