"""`cgan`: pix2pix, the conditional GAN every paired translation method is compared with.

Isola, Zhu, Zhou, Efros, "Image-to-Image Translation with Conditional Adversarial Networks", CVPR 2017.

Published settings (the constructor defaults):
- generator: U-Net-256 (8 stride-2 levels), batch norm, dropout 0.5 in the three innermost 8*ngf decoder
  blocks; 54,407,809 parameters for 1-channel images;
- discriminator: 70x70 PatchGAN on the channel concatenation of source and output, batch norm; 2,764,609
  parameters for a 2-channel input;
- loss: vanilla GAN (BCE on logits) + 100 x L1 on the code's [-1, 1] images (`losses.pixel`), the
  discriminator's loss halved;
- Adam 2e-4, betas (0.5, 0.999), batch 1, 100 epochs at constant learning rate + 100 with linear decay to
  zero; weights from N(0, 0.02).

Choices:
- Test time: pix2pix's own code keeps dropout and batch statistics active at test time ("noise" as the only
  source of stochasticity). Here the generator is scored in eval mode, like every model of the benchmark (the
  shared base evaluates in eval mode): deterministic predictions, running batch-norm statistics. Kept as a
  documented difference, not an option, so all models share one scoring path.
- `depth=None` gives the most levels the training crop allows (8 at 256 px), so smaller crops still work; test
  images whose sides are not multiples of 2**depth are padded (replicate) and the output cropped back.
"""
from __future__ import annotations

from typing import Any, ClassVar

import torch

from benchmark.option_types import ClosedUnitInterval, NonNegativeFloat, PositiveFloat, PositiveInt
from models import register_model
from models.lohiresgan import ConditionalGANModel
from models.losses.gan import GANMode
from models.networks.layers import Norm, init_normal
from models.networks.patchgan import PatchDiscriminator
from models.networks.unet_generator import UNetGenerator, depth_for_size
from models.padding import padded_apply


@register_model("cgan")
class Pix2PixModel(ConditionalGANModel):
    presets: ClassVar[dict[str, dict[str, dict[str, Any]]]] = {
        "smoke": {"model": {"ngf": 8, "ndf": 8}},
        # The GANs learn their mapping from scratch (no input-to-output skip), so on the x4 task they need a
        # few hundred updates to pass the bicubic input: a higher learning rate and more, smaller steps.
        "quick": {"model": {"ngf": 16, "ndf": 16, "lr": 1.0e-3}, "data": {"batch_size": 4},
                  "trainer": {"max_epochs": 15}},
        # pix2pix: batch 1, 100 epochs at constant lr + 100 with linear decay (the model's default schedule).
        "paper": {"trainer": {"max_epochs": 200}, "data": {"batch_size": 1}},
    }

    def __init__(self, in_channels: int = 1, out_channels: int = 1, image_size: int = 256, ngf: PositiveInt = 64,
                 depth: PositiveInt | None = None, ndf: PositiveInt = 64, d_layers: PositiveInt = 3, g_norm: Norm = "batch",
                 d_norm: Norm = "batch", dropout: ClosedUnitInterval = 0.5, gan_mode: GANMode = "vanilla",
                 lambda_l1: NonNegativeFloat = 100.0, lr: PositiveFloat = 2e-4, beta1: ClosedUnitInterval = 0.5, beta2: ClosedUnitInterval = 0.999,
                 decay_fraction: ClosedUnitInterval = 0.5) -> None:
        super().__init__(in_channels, out_channels, image_size)
        self.save_hyperparameters()
        self.lr, self.betas, self.decay_fraction = lr, (beta1, beta2), decay_fraction
        self.depth = depth or depth_for_size(image_size)
        self.generator = init_normal(
            UNetGenerator(in_channels, out_channels, ngf, self.depth, g_norm, dropout))
        self.discriminator = init_normal(
            PatchDiscriminator(in_channels + out_channels, ndf, d_layers, d_norm))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return padded_apply(self.generator, x, 2 ** self.depth)

    def record_notes(self) -> dict[str, Any]:
        return {"test_mode": "generator in eval mode (no test-time dropout, running batch-norm statistics)"}
