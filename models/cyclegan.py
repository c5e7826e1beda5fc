"""`cyclegan`: CycleGAN, two generators held together by cycle consistency, trained without pairs.

Zhu, Park, Isola, Efros, "Unpaired Image-to-Image Translation using Cycle-Consistent Adversarial Networks",
ICCV 2017: generators A->B and B->A, each judged by its own discriminator and held to the other by cycle
consistency.

Published settings (the constructor defaults):
- generators: ResNet-9 (reflection padding, instance norm); 11,365,633 parameters each for 1-channel images;
- discriminators: 70x70 PatchGAN on one domain's images (not conditional), instance norm; 2,762,689 each;
- loss: least-squares GAN; cycle L1 x lambda_cycle = 10 in both directions; identity L1 x 0.5 x lambda_cycle
  (L1 on the code's [-1, 1] images, `losses.pixel`);
  each discriminator's loss halved; a pool of 50 past fakes per discriminator (`models.image_pool`);
- Adam 2e-4, betas (0.5, 0.999), batch 1, 100 epochs + 100 with linear decay; weights from N(0, 0.02).

Unpaired training on paired data (choice, `unpaired="previous"`): a batch's B images are the *previous*
training batch's targets. The loader shuffles, so they are independent of the current sources, and this works
at the paper's batch size of 1, where permuting a batch's own targets would leave the pairs intact. The first
step of a fit has no previous batch and uses its own targets in reversed batch order (paired only at batch 1:
one step of many). On an unpaired datamodule (`paired = False`) the targets are already drawn independently
and the delay is harmless; `unpaired="none"` uses each batch's targets as given.

Scoring: A is the source domain, B the target; the benchmark scores the A->B generator on the paired test set.
"""
from __future__ import annotations

from typing import Any, ClassVar, Literal

import torch

from benchmark.errors import UsageError
from benchmark.option_types import (
    ClosedUnitInterval,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
)
from models import register_model
from models.gan_base import GANModel
from models.image_pool import ImagePool
from models.losses.gan import GANMode, adversarial_loss
from models.losses.pixel import paper_l1
from models.networks.layers import Norm, init_normal
from models.networks.patchgan import PatchDiscriminator
from models.networks.resnet_generator import ResnetGenerator
from models.padding import padded_apply

UnpairedMode = Literal["previous", "none"]


@register_model("cyclegan")
class CycleGANModel(GANModel):
    presets: ClassVar[dict[str, dict[str, dict[str, Any]]]] = {
        "smoke": {"model": {"ngf": 8, "ndf": 8, "num_blocks": 2}},
        # Batch norm rather than the paper's instance norm (the paper preset keeps it): instance norm removes
        # each image's intensity level, which the quick schedule cannot learn back (see models/lohiresgan.py
        # for the same finding on the paired ResNet generator).
        "quick": {"model": {"ngf": 16, "ndf": 16, "num_blocks": 4, "lr": 1.0e-3, "norm": "batch"},
                  "data": {"batch_size": 4}, "trainer": {"max_epochs": 15}},
        # CycleGAN: batch 1, 100 + 100 epochs with linear decay.
        "paper": {"trainer": {"max_epochs": 200}, "data": {"batch_size": 1}},
    }

    def __init__(self, in_channels: int = 1, out_channels: int = 1, image_size: int = 256, ngf: PositiveInt = 64,
                 num_blocks: PositiveInt = 9, ndf: PositiveInt = 64, d_layers: PositiveInt = 3, norm: Norm = "instance",
                 gan_mode: GANMode = "lsgan", lambda_cycle: NonNegativeFloat = 10.0, lambda_identity: NonNegativeFloat = 0.5,
                 pool_size: NonNegativeInt = 50, unpaired: UnpairedMode = "previous", lr: PositiveFloat = 2e-4, beta1: ClosedUnitInterval = 0.5,
                 beta2: ClosedUnitInterval = 0.999, decay_fraction: ClosedUnitInterval = 0.5) -> None:
        super().__init__(in_channels, out_channels, image_size)
        self.save_hyperparameters()
        if lambda_identity and in_channels != out_channels:
            raise UsageError("model.lambda_identity needs as many source as target channels; set it to 0")
        self.lr, self.betas, self.decay_fraction = lr, (beta1, beta2), decay_fraction
        # A->B (scored) and B->A generators; one PatchGAN per domain.
        self.generator = init_normal(ResnetGenerator(in_channels, out_channels, ngf, num_blocks, norm))
        self.generator_ba = init_normal(ResnetGenerator(out_channels, in_channels, ngf, num_blocks, norm))
        self.discriminator_a = init_normal(PatchDiscriminator(in_channels, ndf, d_layers, norm))
        self.discriminator_b = init_normal(PatchDiscriminator(out_channels, ndf, d_layers, norm))
        self.pool_a, self.pool_b = ImagePool(pool_size), ImagePool(pool_size)
        self._previous_targets: torch.Tensor | None = None
        self._restored_targets: torch.Tensor | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return padded_apply(self.generator, x, 4)  # two stride-2 down-samplings

    def backward_translate(self, x: torch.Tensor) -> torch.Tensor:
        """B -> A."""
        return padded_apply(self.generator_ba, x, 4)

    def networks(self) -> dict[str, torch.nn.Module]:
        return {"generator": self.generator, "generator_ba": self.generator_ba,
                "discriminator_a": self.discriminator_a, "discriminator_b": self.discriminator_b}

    def generators(self) -> list[torch.nn.Module]:
        return [self.generator, self.generator_ba]

    def discriminators(self) -> list[torch.nn.Module]:
        return [self.discriminator_a, self.discriminator_b]

    def on_fit_start(self) -> None:  # after a resume: the checkpoint's (on_load_checkpoint runs first)
        restored, self._restored_targets = self._restored_targets, None
        self._previous_targets = restored.to(self.device) if restored is not None else None

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """The pools and the held-back targets decide the next steps: a resumed run needs them."""
        previous = self._previous_targets
        checkpoint["cyclegan"] = {"pool_a": self.pool_a.state_dict(), "pool_b": self.pool_b.state_dict(),
                                  "previous_targets": previous.cpu() if previous is not None else None}

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        state = checkpoint.get("cyclegan")
        if state:
            self.pool_a.load_state_dict(state["pool_a"])
            self.pool_b.load_state_dict(state["pool_b"])
            self._restored_targets = state["previous_targets"]

    def _domain_b(self, batch: dict[str, Any]) -> torch.Tensor:
        """This step's B images: the previous batch's targets (see the module docstring)."""
        target = batch["target"]
        if self.hparams.unpaired == "none":
            return target
        previous, self._previous_targets = self._previous_targets, target.detach()
        return previous if previous is not None else target.flip(0)

    def generate(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        real_a, real_b = batch["source"], self._domain_b(batch)
        fake_b, fake_a = self(real_a), self.backward_translate(real_b)
        return {"real_b": real_b, "fake_b": fake_b, "fake_a": fake_a,
                "rec_a": self.backward_translate(fake_b), "rec_b": self(fake_a)}

    def discriminator_loss(self, batch: dict[str, Any],
                           fakes: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        mode, terms = self.hparams.gan_mode, {}
        domains = (("a", self.discriminator_a, batch["source"], self.pool_a.query(fakes["fake_a"])),
                   ("b", self.discriminator_b, fakes["real_b"], self.pool_b.query(fakes["fake_b"])))
        for name, disc, real, fake in domains:
            terms[f"{name}_real"] = 0.5 * adversarial_loss(disc(real), True, mode)
            terms[f"{name}_fake"] = 0.5 * adversarial_loss(disc(fake), False, mode)
        return terms

    def generator_loss(self, batch: dict[str, Any],
                       fakes: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        hp, real_a, real_b = self.hparams, batch["source"].float(), fakes["real_b"].float()
        terms = {"adv_b": adversarial_loss(self.discriminator_b(fakes["fake_b"]), True, hp.gan_mode),
                 "adv_a": adversarial_loss(self.discriminator_a(fakes["fake_a"]), True, hp.gan_mode),
                 "cycle_a": hp.lambda_cycle * paper_l1(fakes["rec_a"].float(), real_a),
                 "cycle_b": hp.lambda_cycle * paper_l1(fakes["rec_b"].float(), real_b)}
        if hp.lambda_identity:
            weight = hp.lambda_identity * hp.lambda_cycle
            terms["idt_b"] = weight * paper_l1(self(fakes["real_b"]).float(), real_b)
            terms["idt_a"] = weight * paper_l1(self.backward_translate(batch["source"]).float(), real_a)
        return terms

    def record_notes(self) -> dict[str, Any]:
        how = {"previous": "B images = the previous training batch's targets",
               "none": "B images = each batch's own targets"}[self.hparams.unpaired]
        return {"unpaired_training": how, "scored_generator": "A->B (generator)"}
