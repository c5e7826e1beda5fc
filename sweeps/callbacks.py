"""The Lightning callbacks a sweep adds to a trial's run (`benchmark.runner.execute(callbacks=...)`)."""
from __future__ import annotations

import math
from typing import Any

import lightning as L
import optuna
from optuna_integration import PyTorchLightningPruningCallback

MONITOR = "val/psnr"  # the one metric the sweeper is given (the runner's checkpoint monitors it too)


def finite(value: Any) -> bool:
    return value is not None and math.isfinite(float(value))


class Pruning(PyTorchLightningPruningCallback):
    """optuna-integration's pruning callback on `val/psnr`, with three additions.

    - It remembers that it pruned: the runner catches every exception of a run (TrialPruned included) and
      records the run as failed, so the objective learns of the pruning here, not from the exception.
    - It never prunes after the last epoch: that training is finished and its result is worth keeping.
    Under DDP the parent class's own path applies to the other epochs (RDB storage; the objective calls
    `check_pruned()`).
    """

    def __init__(self, trial: optuna.trial.Trial, monitor: str = MONITOR) -> None:
        super().__init__(trial, monitor)
        self.pruned_epoch: int | None = None
        self.last_score: float | None = None

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.sanity_checking:
            return
        score = trainer.callback_metrics.get(self.monitor)
        self.last_score = float(score) if score is not None else None
        final = trainer.max_epochs is not None and pl_module.current_epoch + 1 >= trainer.max_epochs
        if final:  # every rank knows it: no decision to broadcast
            if trainer.is_global_zero and finite(self.last_score):
                self._trial.report(self.last_score, step=pl_module.current_epoch)  # type: ignore[arg-type]
            return
        try:
            super().on_validation_end(trainer, pl_module)
        except optuna.TrialPruned:
            self.pruned_epoch = pl_module.current_epoch
            raise


class ValidationHistory(L.Callback):
    """Validation PSNR and SSIM after every epoch: the SSIM of the kept (best-PSNR) epoch is the second
    objective, so both objectives describe the same checkpoint."""

    def __init__(self, names: tuple[str, ...] = (MONITOR, "val/ssim")) -> None:
        self.names = names
        self.rows: list[dict[str, Any]] = []

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.sanity_checking:
            return
        row: dict[str, Any] = {"epoch": trainer.current_epoch}
        for name in self.names:
            value = trainer.callback_metrics.get(name)
            row[name] = float(value) if value is not None else None
        self.rows.append(row)

    def at_best(self, monitor: str = MONITOR) -> dict[str, Any] | None:
        """The first epoch with the highest finite `monitor` (ModelCheckpoint keeps the first of equals)."""
        rows = [r for r in self.rows if finite(r.get(monitor))]
        return max(rows, key=lambda r: r[monitor]) if rows else None


class RunLink(L.Callback):
    """Writes the run folder into the trial as soon as training starts, so even a trial whose worker is
    killed points at its (partial) run record."""

    def __init__(self, trial: optuna.trial.Trial) -> None:
        self.trial = trial

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.is_global_zero:
            self.trial.set_user_attr("run_dir", str(trainer.default_root_dir))


class DivergenceGuard(L.Callback):
    """Fails a trial at its first non-finite loss (`max_nonfinite_steps`, default 0) rather than after the
    model base's ten skipped steps: in a sweep a diverging setting is common and its compute is wasted."""

    def __init__(self, max_nonfinite_steps: int = 0) -> None:
        self.limit = max_nonfinite_steps

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if hasattr(pl_module, "max_nonfinite_steps"):
            pl_module.max_nonfinite_steps = self.limit
