"""The shared base of every model: one forward contract and one scoring path.

A model maps `source` (B, C, H, W) in [0, 1] to a prediction of the target's shape and range. Validation and
test steps live here, so every model is scored by exactly the same code (the runner's `Evaluator`); per-image
test rows are gathered across processes and de-duplicated by id, so a padded distributed sampler never
counts an image twice.
"""
from __future__ import annotations

from typing import Any, ClassVar

import lightning as L
import torch
import torch.distributed as dist

from benchmark.evaluation import Evaluator

SAMPLE_IMAGES = 4  # test images kept for the record's sample figure


class TranslationModel(L.LightningModule):
    """Base LightningModule. Subclasses build `self.generator` and implement training."""

    trainable: ClassVar[bool] = True
    # Model-side input: "source" (same-size input) or "source_lr" (models that up-sample themselves).
    input_key: ClassVar[str] = "source"
    max_nonfinite_steps: int = 10  # a run fails after this many skipped non-finite steps

    def __init__(self, in_channels: int = 1, out_channels: int = 1, image_size: int = 256) -> None:
        super().__init__()
        self.in_channels, self.out_channels, self.image_size = in_channels, out_channels, image_size
        self.evaluator = Evaluator()
        self.test_rows: list[dict[str, Any]] = []
        self.test_samples: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []
        self.test_sample_ids: list[str] = []  # ids of test_samples (the report lines models up by id)
        self.nonfinite_steps = 0

    # -- the contract --------------------------------------------------------------------------------
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.generator(x)

    def predict_batch(self, batch: dict[str, Any]) -> torch.Tensor:
        return self(batch[self.input_key])

    def networks(self) -> dict[str, torch.nn.Module]:
        """Named networks for the record's parameter counts (the generator first)."""
        return {"generator": self.generator}

    def record_notes(self) -> dict[str, Any]:
        """Facts the run record must state about this model (e.g. which perceptual weights were used)."""
        return {}

    # -- shared scoring --------------------------------------------------------------------------------
    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        # Only what is logged: no-reference metrics (PIQE) would cost every validation step for nothing.
        scores = self.evaluator.score(self.predict_batch(batch), batch, names=("psnr", "ssim"))
        size = len(batch["id"])
        for name in ("psnr", "ssim"):
            if name in scores:
                self.log(f"val/{name}", scores[name].nanmean(), batch_size=size, sync_dist=True,
                         prog_bar=name == "psnr")

    def on_test_epoch_start(self) -> None:
        self.test_rows, self.test_samples, self.test_sample_ids = [], [], []

    def test_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        prediction = self.predict_batch(batch)
        self.test_rows.extend(self.evaluator.rows(prediction, batch))
        for i in range(min(len(batch["id"]), SAMPLE_IMAGES - len(self.test_samples))):
            self.test_samples.append((batch["source"][i].cpu(), prediction[i].detach().float().clamp(0, 1).cpu(),
                                      batch["target"][i].cpu()))
            self.test_sample_ids.append(batch["id"][i])

    def on_test_epoch_end(self) -> None:
        rows = self.test_rows
        if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
            gathered: list[list[dict[str, Any]]] = [[] for _ in range(dist.get_world_size())]
            dist.all_gather_object(gathered, rows)
            rows = [r for part in gathered for r in part]
        unique: dict[str, dict[str, Any]] = {}
        for row in rows:
            unique.setdefault(row["id"], row)  # padded duplicates carry identical values
        self.test_rows = sorted(unique.values(), key=lambda r: r["id"])

    # -- safety ------------------------------------------------------------------------------------------
    def loss_is_finite(self, loss: torch.Tensor, what: str = "loss") -> bool:
        """False (and a warning) for a NaN/Inf loss so the step is skipped; too many such steps fail the run.

        Under DDP every rank skips when any rank must: a backward run on some ranks only would hang them.
        """
        finite = bool(torch.isfinite(loss).all())
        if self._trainer is not None and self.trainer.world_size > 1:
            finite = self.trainer.strategy.reduce_boolean_decision(finite, all=True)
        if finite:
            return True
        self.nonfinite_steps += 1
        if self.nonfinite_steps > self.max_nonfinite_steps:
            raise FloatingPointError(f"training diverged: {self.nonfinite_steps} steps with a non-finite {what}")
        self.print(f"warning: non-finite {what} at step {self.global_step}, step skipped")
        return False
