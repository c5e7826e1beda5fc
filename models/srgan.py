"""`srgan`: SRGAN, an SRResNet trained with MSE, then adversarially with a VGG19 content loss.

Ledig et al., "Photo-Realistic Single Image Super-Resolution Using a Generative Adversarial Network",
CVPR 2017.

Published settings (the constructor defaults):
- generator: SRResNet, 16 residual blocks of 64 channels, two PixelShuffle x2 stages for x4;
- discriminator: the paper's eight-conv VGG-style network with two dense layers (`SRGANDiscriminator`);
- schedule: SRResNet pre-training with MSE (10^6 iterations at lr 1e-4), then GAN training initialised from it
  (10^5 iterations at 1e-4, then 10^5 at 1e-5). As fractions of the run's epochs: `pretrain_fraction` 5/6 of
  the epochs are MSE pre-training (the discriminator is not trained), the learning rate drops by
  `lr_drop_factor` 0.1 after `lr_drop_fraction` 1/2 of the GAN epochs. Adam betas (0.9, 0.999); the
  generator's Adam state is reset when GAN training starts (the paper starts a new training from the SRResNet
  weights).
- GAN loss: content loss on VGG19 relu5_4 features (phi_5,4) scaled by 1/12.75 + 1e-3 x adversarial (BCE).

Input: on the x4 task the generator takes the down-sampled image (`input_key = "source_lr"`) and up-samples it
itself; the runner fills `scale` with the dataset's factor: 4 on `fluorescence`, 1 elsewhere, where SRResNet
has no PixelShuffle stage and takes `source` at full size.

Choices (constructor arguments):
- `content_loss`: "vgg19" (the paper) or "mse" (SRGAN-MSE, the paper's own ablation, and what the fast presets
  use: ImageNet VGG19 weights are not available offline). `perceptual_weights`: "imagenet" | "random" | a
  path; the VGG19 is built in `setup`, never at construction, and is not one of `networks()`.
- Output: SRResNet's last conv has no activation. Losses and the discriminator see the raw output; predictions
  are clamped to [0, 1] (a sigmoid would change the network; a clamp in the loss would zero its gradients).
- The discriminator pools its features to 6x6 before the dense layers (the paper's 96 px crops give 6x6), so
  it takes any crop size; `d_dense` is its first dense width (1024 in the paper).
- Which epoch is scored: the runner keeps the best-validation-PSNR epoch for every model; for SRGAN that can
  be an epoch of the MSE phase, as PSNR favours MSE training (the paper's own finding).
"""
from __future__ import annotations

from typing import Any, ClassVar, Literal

import torch
import torch.nn.functional as F
from torch.optim.lr_scheduler import LambdaLR

from benchmark.option_types import ClosedUnitInterval, NonNegativeFloat, PositiveFloat, PositiveInt
from models import register_model
from models.gan_base import GANModel
from models.losses.gan import adversarial_loss
from models.losses.perceptual import PerceptualLoss
from models.networks.srgan_discriminator import SRGANDiscriminator
from models.networks.srresnet import SRResNet

ContentLoss = Literal["vgg19", "mse"]


@register_model("srgan")
class SRGANModel(GANModel):
    presets: ClassVar[dict[str, dict[str, dict[str, Any]]]] = {
        # No ImageNet VGG19 offline: MSE content loss (SRGAN-MSE), stated in the record's notes.
        "smoke": {"model": {"channels": 8, "num_blocks": 2, "ndf": 8, "d_dense": 16, "content_loss": "mse"}},
        # 5/6 of the epochs are SRResNet pre-training, as the paper.
        "quick": {"model": {"channels": 32, "num_blocks": 6, "ndf": 32, "d_dense": 256, "content_loss": "mse",
                            "lr": 5.0e-4},
                  "data": {"batch_size": 16}, "trainer": {"max_epochs": 30}},
        # SRGAN: batch 16 of 96x96 high-resolution crops; 10^6 SRResNet + 2 x 10^5 GAN iterations, i.e. the
        # model's pretrain_fraction 5/6 of the epochs, then GAN epochs with the lr dropped 10x half-way.
        "paper": {"trainer": {"max_epochs": 240}, "data": {"batch_size": 16, "crop_size": 96}},
    }

    def __init__(self, in_channels: int = 1, out_channels: int = 1, image_size: int = 256, scale: int = 4,
                 channels: PositiveInt = 64, num_blocks: PositiveInt = 16, ndf: PositiveInt = 64, d_dense: PositiveInt = 1024,
                 content_loss: ContentLoss = "vgg19", perceptual_weights: str = "imagenet",
                 vgg_layer: str = "relu5_4",
                 feature_scale: PositiveFloat = 1 / 12.75, adversarial_weight: NonNegativeFloat = 1e-3,
                 pretrain_fraction: ClosedUnitInterval = 5 / 6, lr: PositiveFloat = 1e-4, lr_drop_fraction: ClosedUnitInterval = 0.5,
                 lr_drop_factor: PositiveFloat = 0.1, beta1: ClosedUnitInterval = 0.9, beta2: ClosedUnitInterval = 0.999) -> None:
        super().__init__(in_channels, out_channels, image_size)
        self.save_hyperparameters()
        self.lr, self.betas = lr, (beta1, beta2)
        self.input_key = "source_lr" if scale > 1 else "source"
        self.generator = SRResNet(in_channels, out_channels, channels, num_blocks, scale)
        self.discriminator = SRGANDiscriminator(out_channels, ndf, dense_features=d_dense)
        self.content: PerceptualLoss | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.generator(x).clamp(0, 1)

    def networks(self) -> dict[str, torch.nn.Module]:
        return {"generator": self.generator, "discriminator": self.discriminator}

    def setup(self, stage: str) -> None:
        hp = self.hparams
        if stage == "fit" and hp.content_loss == "vgg19" and self.content is None:
            self.content = PerceptualLoss("vgg19", hp.vgg_layer, hp.perceptual_weights,
                                          scale=hp.feature_scale)

    # -- schedule -------------------------------------------------------------------------------------------
    @property
    def pretrain_epochs(self) -> int:
        epochs = int(self.trainer.max_epochs or 1) if self._trainer is not None else 1
        return round(epochs * self.hparams.pretrain_fraction)

    def in_pretraining(self) -> bool:
        return self.current_epoch < self.pretrain_epochs

    def on_train_epoch_start(self) -> None:
        if self.current_epoch == self.pretrain_epochs > 0:  # GAN training starts from the SRResNet weights
            self.optimizers()[0].optimizer.state.clear()

    def configure_optimizers(self) -> Any:
        hp = self.hparams
        (opt_g, opt_d), _ = super().configure_optimizers()
        epochs = max(1, int(self.trainer.max_epochs or 1)) if self._trainer is not None else 1
        pretrain = round(epochs * hp.pretrain_fraction)
        drop_at = pretrain + round((epochs - pretrain) * hp.lr_drop_fraction)

        def factor(epoch: int) -> float:
            return hp.lr_drop_factor if epoch >= drop_at else 1.0  # drop_at >= pretrain: GAN epochs only

        return [opt_g, opt_d], [LambdaLR(opt_g, factor), LambdaLR(opt_d, factor)]

    # -- training ----------------------------------------------------------------------------------------
    def training_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        if not self.in_pretraining():
            return super().training_step(batch, batch_idx)
        opt_g, _ = self.optimizers()  # SRResNet: MSE only, the discriminator is left alone
        fake = self.generator(batch[self.input_key])
        self._step(opt_g, {"mse": F.mse_loss(fake.float(), batch["target"].float())}, "g", len(batch["id"]))

    def generate(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        return {"fake": self.generator(batch[self.input_key])}

    def discriminator_loss(self, batch: dict[str, Any],
                           fakes: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return {"real": adversarial_loss(self.discriminator(batch["target"]), True, "vanilla"),
                "fake": adversarial_loss(self.discriminator(fakes["fake"]), False, "vanilla")}

    def generator_loss(self, batch: dict[str, Any],
                       fakes: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        hp, fake, target = self.hparams, fakes["fake"].float(), batch["target"].float()
        if hp.content_loss == "vgg19":
            if self.content is None:
                raise RuntimeError("VGG19 content loss is on but was not built (setup('fit') not called)")
            content = self.content(fake, target)
        else:
            content = F.mse_loss(fake, target)
        adv = adversarial_loss(self.discriminator(fakes["fake"]), True, "vanilla")
        return {"content": content, "adv": hp.adversarial_weight * adv}

    def record_notes(self) -> dict[str, Any]:
        hp = self.hparams
        notes: dict[str, Any] = {
            "input": self.input_key, "scale": hp.scale,
            "schedule": f"MSE pre-training for {self.pretrain_epochs} epoch(s), then GAN"}
        if hp.content_loss == "mse":
            notes["perceptual"] = "off (content_loss=mse)"
        else:
            source = self.content.weights_source if self.content is not None else hp.perceptual_weights
            notes["content_loss"] = f"vgg19 {hp.vgg_layer} / {1 / hp.feature_scale:g}"
            notes["perceptual_weights"] = source
        return notes
