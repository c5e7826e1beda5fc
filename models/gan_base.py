"""The GAN base: manual optimization with one discriminator step and one generator step per batch.

Subclasses implement `generate`, `discriminator_loss` and `generator_loss`. The order (generate, update D
on detached fakes, update G through a frozen D) is pix2pix's, so each step's gradients reach only its own
networks. Schedulers step once per epoch. Non-finite losses skip the step (see `loss_is_finite`).
"""
from __future__ import annotations

from typing import Any

import torch

from models.base import TranslationModel
from models.schedules import linear_decay


class GANModel(TranslationModel):
    lr: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)
    decay_fraction: float = 0.5

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.automatic_optimization = False

    # -- to implement -------------------------------------------------------------------------------
    def generate(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def discriminator_loss(self, batch: dict[str, Any], fakes: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Named terms; their sum is minimised by the discriminator(s)."""
        raise NotImplementedError

    def generator_loss(self, batch: dict[str, Any], fakes: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Named, already weighted terms; their sum is minimised by the generator(s)."""
        raise NotImplementedError

    def discriminators(self) -> list[torch.nn.Module]:
        return [self.discriminator]

    def generators(self) -> list[torch.nn.Module]:
        return [self.generator]

    # -- the shared loop ------------------------------------------------------------------------------
    def _step(self, optimizer: Any, terms: dict[str, torch.Tensor], prefix: str, size: int) -> None:
        loss = sum(terms.values())
        if not self.loss_is_finite(loss, f"{prefix} loss"):
            optimizer.zero_grad(set_to_none=True)
            return
        optimizer.zero_grad(set_to_none=True)
        self.manual_backward(loss)
        optimizer.step()
        if self._values_shown_this_step():
            self.log(f"train/{prefix}_loss", loss.detach(), batch_size=size, prog_bar=True)
            for name, value in terms.items():
                self.log(f"train/{prefix}_{name}", value.detach(), batch_size=size)

    def _values_shown_this_step(self) -> bool:
        """Whether anything shows this step's losses: a progress bar, or loggers writing this step
        (`Trainer(log_every_n_steps)`). Why ask: each `self.log` costs Python time (~3 ms on a busy 2-core
        CPU, 10-20% of a small GAN step), and values logged on other steps are never written anywhere."""
        trainer = self._trainer
        return (trainer is None or trainer.progress_bar_callback is not None
                or trainer._logger_connector.should_update_logs)

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        opt_g, opt_d = self.optimizers()
        size = len(batch["id"])
        fakes = self.generate(batch)
        detached = {k: v.detach() for k, v in fakes.items()}
        self._step(opt_d, self.discriminator_loss(batch, detached), "d", size)
        for d in self.discriminators():  # D is a fixed critic for the generator update
            d.requires_grad_(False)
        self._step(opt_g, self.generator_loss(batch, fakes), "g", size)
        for d in self.discriminators():
            d.requires_grad_(True)

    def on_train_epoch_end(self) -> None:
        for scheduler in self.lr_schedulers() or []:
            scheduler.step()

    def configure_optimizers(self) -> Any:
        g_params = [p for g in self.generators() for p in g.parameters()]
        d_params = [p for d in self.discriminators() for p in d.parameters()]
        opt_g = torch.optim.Adam(g_params, lr=self.lr, betas=tuple(self.betas))
        opt_d = torch.optim.Adam(d_params, lr=self.lr, betas=tuple(self.betas))
        epochs = max(1, int(self.trainer.max_epochs or 1)) if self._trainer is not None else 1
        schedulers = [linear_decay(o, epochs, self.decay_fraction) for o in (opt_g, opt_d)]
        return [opt_g, opt_d], schedulers
