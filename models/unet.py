"""`unet`: the pix2pix U-Net generator trained alone with L1 (a strong non-adversarial baseline).

Adam lr 2e-4, betas (0.5, 0.999) as pix2pix. Batch norm, no dropout: pix2pix's dropout is its noise source
for a GAN; a regression baseline has no use for it (configurable). Depth follows the image size: the most
stride-2 levels the size allows, at most 8 (U-Net-256).
"""
from __future__ import annotations

from typing import Any, ClassVar

import torch
import torch.nn.functional as F

from benchmark.errors import UsageError
from benchmark.option_types import ClosedUnitInterval, PositiveFloat, PositiveInt
from models import register_model
from models.base import TranslationModel
from models.networks.layers import Norm, init_normal
from models.networks.unet_generator import UNetGenerator, depth_for_size


@register_model("unet")
class UNetModel(TranslationModel):
    presets: ClassVar[dict[str, dict[str, dict[str, Any]]]] = {
        "smoke": {"model": {"ngf": 8}},
        # Four levels, not the crop's full depth: a 64x64 crop would leave a 1x1 bottleneck whose batch-norm
        # statistics do not carry over to whole test images, and lr 1e-3 rather than pix2pix's 2e-4: the few
        # hundred updates of a CPU budget otherwise stop short of the input's PSNR on the x4 and FMD tasks.
        "quick": {"model": {"ngf": 32, "depth": 4, "lr": 1.0e-3}, "trainer": {"max_epochs": 30}},
        "paper": {"data": {"batch_size": 1}},
    }

    def __init__(self, in_channels: int = 1, out_channels: int = 1, image_size: int = 256, ngf: PositiveInt = 64,
                 depth: PositiveInt | None = None, norm: Norm = "batch", dropout: ClosedUnitInterval = 0.0, lr: PositiveFloat = 2e-4,
                 beta1: ClosedUnitInterval = 0.5, beta2: ClosedUnitInterval = 0.999) -> None:
        super().__init__(in_channels, out_channels, image_size)
        self.save_hyperparameters()
        depth = depth or depth_for_size(image_size)
        if image_size % 2**depth:
            raise UsageError(f"model.depth={depth} needs image sides divisible by {2**depth}, "
                             f"training images are {image_size}: set data.crop_size or model.depth")
        self.generator = init_normal(UNetGenerator(in_channels, out_channels, ngf, depth, norm, dropout))

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> torch.Tensor | None:
        loss = F.l1_loss(self.predict_batch(batch), batch["target"])
        if not self.loss_is_finite(loss):
            return None
        self.log("train/l1", loss.detach(), batch_size=len(batch["id"]), prog_bar=True)
        return loss

    def configure_optimizers(self) -> Any:
        hp = self.hparams
        return torch.optim.Adam(self.generator.parameters(), lr=hp.lr, betas=(hp.beta1, hp.beta2))
