"""`figan-tg`, `figan-notg`, `figan-tg1`, `figan-tgn`: FI-GAN and its total-gradient (TG) loss ablations.

Zhang H., Fang C., Xie X., Yang Y., Mei W., Jin D., Fei P., "High-throughput, high-resolution deep learning
microscopy based on registration-free generative adversarial network", Biomed. Opt. Express 10(3):1044, 2019.

The generator (`models.networks.figan_generator`) works on the bicubic-up-sampled input at the target's size:
two stride-2 convs down by 4, seven residual dense blocks with spectral norm, PixelShuffle back up by 4. A
least-squares critic (`models.networks.lsgan_discriminator`) judges its output.

Generator loss (weights as the paper's first stage, the constructor defaults):
    alpha MSE + beta SmoothL1 + gamma VGG16-perceptual + eta ResNet152-perceptual + epsilon LSGAN + theta TG
with alpha 1, beta 1, gamma 8e-3, eta 1e-2, epsilon 1e-3, theta 1; Adam lr 1e-3 for both networks; batch 64,
crop 64, 200 epochs, the epoch with the best validation PSNR kept (the runner's checkpoint does that). The
variants differ only in the TG term: `figan-notg` theta 0, `figan-tg1` k_max 1 (neighbour differences),
`figan-tg` k_max "half" (lags up to half the crop), `figan-tgn` k_max "full" (every lag).

Choices where the paper is silent (constructor arguments):
- Adam betas (0.9, 0.999) (PyTorch's defaults: the paper gives only the learning rate); constant learning
  rate.
- The critic is unconditional (sees the output or the target alone) and its loss is halved (LSGAN's 1/2).
- Perceptual layers: VGG16 relu2_2 (Johnson et al., ECCV 2016) and ResNet-152 layer2; grey images replicated
  to RGB and ImageNet-normalised (`models.losses.perceptual`). `perceptual_weights`: "imagenet" (the paper),
  "random" or a checkpoint path. The feature networks are built in `setup` (only when gamma or eta is
  non-zero), never at construction, so `list models` works offline; they are not in `networks()`.
- Output: no activation (the generator regresses intensities); losses see the raw output, predictions are
  clamped to [0, 1]. Inputs whose sides are not multiples of 4 are padded (replicate) and cropped back.
- All loss terms in float32. `k_max` is a lag count or "half" / "full" (`models.losses.total_gradient.KMax`).
"""
from __future__ import annotations

from typing import Any, ClassVar

import torch
import torch.nn.functional as F

from benchmark.option_types import ClosedUnitInterval, NonNegativeFloat, PositiveFloat, PositiveInt
from models import register_model
from models.gan_base import GANModel
from models.losses.gan import adversarial_loss
from models.losses.perceptual import PerceptualLoss
from models.losses.total_gradient import KMax, total_gradient_loss
from models.networks.figan_generator import FIGANGenerator
from models.networks.lsgan_discriminator import LSGANDiscriminator
from models.padding import padded_apply

LOSS_WEIGHTS = ("alpha", "beta", "gamma", "eta", "epsilon", "theta")


@register_model("figan-tg")
class FIGANModel(GANModel):
    """`figan-tg`: FI-GAN with the TG loss at k_max "half" (the paper's full model)."""

    # The variants below inherit these. Smoke and quick turn the perceptual terms off (gamma = eta = 0, stated
    # in the record's notes: no ImageNet weights offline); the TG term makes the model pass the input within
    # a few epochs.
    presets: ClassVar[dict[str, dict[str, dict[str, Any]]]] = {
        "smoke": {"model": {"channels": 8, "growth": 8, "num_blocks": 2, "layers_per_block": 2, "ndf": 8,
                            "d_layers": 2, "gamma": 0, "eta": 0}},
        "quick": {"model": {"channels": 32, "growth": 16, "num_blocks": 4, "layers_per_block": 3, "ndf": 32,
                            "gamma": 0, "eta": 0},
                  "trainer": {"max_epochs": 6}},
        # FI-GAN first stage: batch 64, crop 64, 200 epochs, best validation PSNR kept (the run's checkpoint).
        "paper": {"trainer": {"max_epochs": 200}, "data": {"batch_size": 64, "crop_size": 64}},
    }

    def __init__(self, in_channels: int = 1, out_channels: int = 1, image_size: int = 256, channels: PositiveInt = 64,
                 num_blocks: PositiveInt = 7, growth: PositiveInt = 32, layers_per_block: PositiveInt = 4, spectral_norm: bool = True,
                 ndf: PositiveInt = 64, d_layers: PositiveInt = 4, alpha: NonNegativeFloat = 1.0, beta: NonNegativeFloat = 1.0, gamma: NonNegativeFloat = 8e-3,
                 eta: NonNegativeFloat = 1e-2, epsilon: NonNegativeFloat = 1e-3, theta: NonNegativeFloat = 1.0, k_max: KMax = "half",
                 perceptual_weights: str = "imagenet", vgg_layer: str = "relu2_2",
                 resnet_layer: str = "layer2",
                 lr: PositiveFloat = 1e-3, beta1: ClosedUnitInterval = 0.9, beta2: ClosedUnitInterval = 0.999) -> None:
        super().__init__(in_channels, out_channels, image_size)
        self.save_hyperparameters()
        self.lr, self.betas = lr, (beta1, beta2)
        self.generator = FIGANGenerator(in_channels, out_channels, channels, num_blocks, growth,
                                        layers_per_block, spectral_norm)
        self.discriminator = LSGANDiscriminator(out_channels, ndf, d_layers)
        self.vgg_loss: PerceptualLoss | None = None
        self.resnet_loss: PerceptualLoss | None = None

    # -- forward and networks --------------------------------------------------------------------------
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.raw(x).clamp(0, 1)

    def raw(self, x: torch.Tensor) -> torch.Tensor:
        """The generator's unclamped output (what the losses see)."""
        return padded_apply(self.generator, x, 4)

    def networks(self) -> dict[str, torch.nn.Module]:
        return {"generator": self.generator, "discriminator": self.discriminator}

    # -- perceptual networks, built when training needs them -------------------------------------------
    def planned_weights(self) -> list[dict[str, Any]]:
        """Every set of loss weights this model will train with (one per stage)."""
        return [dict(self.hparams)]

    def setup(self, stage: str) -> None:
        if stage != "fit":
            return
        hp, planned = self.hparams, self.planned_weights()
        if self.vgg_loss is None and any(w["gamma"] for w in planned):
            self.vgg_loss = PerceptualLoss("vgg16", hp.vgg_layer, hp.perceptual_weights)
        if self.resnet_loss is None and any(w["eta"] for w in planned):
            self.resnet_loss = PerceptualLoss("resnet152", hp.resnet_layer, hp.perceptual_weights)

    def _perceptual(self, loss: PerceptualLoss | None, what: str, fake: torch.Tensor,
                    target: torch.Tensor) -> torch.Tensor:
        if loss is None:  # only when a stage switches the term on without `setup`: fail loudly, never skip
            raise RuntimeError(f"{what} perceptual loss is on but was not built (setup('fit') not called)")
        return loss(fake, target)

    # -- the GAN objective -------------------------------------------------------------------------------
    def generate(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        return {"fake": self.raw(batch[self.input_key])}

    def discriminator_loss(self, batch: dict[str, Any],
                           fakes: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return {"real": 0.5 * adversarial_loss(self.discriminator(batch["target"]), True, "lsgan"),
                "fake": 0.5 * adversarial_loss(self.discriminator(fakes["fake"]), False, "lsgan")}

    def generator_loss(self, batch: dict[str, Any],
                       fakes: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        hp, fake, target = self.hparams, fakes["fake"].float(), batch["target"].float()
        terms: dict[str, torch.Tensor] = {}
        if hp.alpha:
            terms["mse"] = hp.alpha * F.mse_loss(fake, target)
        if hp.beta:
            terms["smooth_l1"] = hp.beta * F.smooth_l1_loss(fake, target)
        if hp.gamma:
            terms["vgg16"] = hp.gamma * self._perceptual(self.vgg_loss, "VGG16", fake, target)
        if hp.eta:
            terms["resnet152"] = hp.eta * self._perceptual(self.resnet_loss, "ResNet-152", fake, target)
        if hp.epsilon:
            terms["adv"] = hp.epsilon * adversarial_loss(self.discriminator(fakes["fake"]), True, "lsgan")
        if hp.theta:
            terms["tg"] = hp.theta * total_gradient_loss(fake, target, hp.k_max)
        return terms

    def configure_optimizers(self) -> Any:
        optimizers, _ = super().configure_optimizers()
        return optimizers  # constant learning rate (the paper names no schedule)

    def record_notes(self) -> dict[str, Any]:
        hp = self.hparams
        tg = f"theta={hp.theta:g}, k_max={hp.k_max}" if hp.theta else "off (theta=0)"
        notes: dict[str, Any] = {"tg_loss": tg}
        if not hp.gamma and not hp.eta:
            notes["perceptual"] = "off (gamma=eta=0)"
        else:
            vgg, resnet = self.vgg_loss, self.resnet_loss
            notes["perceptual_weights"] = {
                "vgg16": vgg.weights_source if hp.gamma and vgg else "off (gamma=0)",
                "resnet152": resnet.weights_source if hp.eta and resnet else "off (eta=0)"}
        return notes


@register_model("figan-notg")
class FIGANNoTGModel(FIGANModel):
    """`figan-notg`: FI-GAN without the TG term (theta = 0), the paper's ablation baseline."""

    def __init__(self, *args: Any, theta: NonNegativeFloat = 0.0, **kwargs: Any) -> None:
        super().__init__(*args, theta=theta, **kwargs)


@register_model("figan-tg1")
class FIGANTG1Model(FIGANModel):
    """`figan-tg1`: the TG term with k_max = 1: neighbour differences only (a plain gradient loss)."""

    def __init__(self, *args: Any, k_max: KMax = 1, **kwargs: Any) -> None:
        super().__init__(*args, k_max=k_max, **kwargs)


@register_model("figan-tgn")
class FIGANTGNModel(FIGANModel):
    """`figan-tgn`: the TG term over every lag (k_max = "full", N - 1 along an axis of N pixels)."""

    def __init__(self, *args: Any, k_max: KMax = "full", **kwargs: Any) -> None:
        super().__init__(*args, k_max=k_max, **kwargs)
