"""The shared base of every model: one forward contract and one scoring path.

A model maps `source` (B, C, H, W) in [0, 1] to a prediction of the target's shape and range. Validation and
test steps live here, so every model is scored by exactly the same code: the dataset's `Evaluator`, which the
build step hands to the model. The test step returns its per-image rows; the runner collects them
(`benchmark.test_results`).
"""
from __future__ import annotations

from typing import Any, ClassVar

import lightning as L
import torch

from benchmark.evaluation import Evaluator


class TranslationModel(L.LightningModule):
    """Base LightningModule. Subclasses build `self.generator` and implement training."""

    trainable: ClassVar[bool] = True
    # Model-side input: "source" (same-size input) or "source_lr" (models that up-sample themselves).
    input_key: ClassVar[str] = "source"
    max_nonfinite_steps: int = 10  # a run fails after this many skipped non-finite steps
    # Per-preset sections ({"smoke": {"model": {...}, "data": {...}, "trainer": {...}}, "quick": ..., "paper":
    # ...}) layered over the preset file's global ones (`benchmark.config.preset_layers`): what a model needs
    # to run in seconds (smoke) or minutes (quick) lives with the model. A preset without an entry shrinks
    # the model by generic rules, stated in the run's record.
    presets: ClassVar[dict[str, dict[str, dict[str, Any]]]] = {}

    def __init__(self, in_channels: int = 1, out_channels: int = 1, image_size: int = 256) -> None:
        super().__init__()
        self.in_channels, self.out_channels, self.image_size = in_channels, out_channels, image_size
        self.evaluator = Evaluator()
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

    def test_step(self, batch: dict[str, Any], batch_idx: int) -> dict[str, Any]:
        """Per-image rows scored by the dataset's evaluator, and the clamped prediction: whoever runs the
        test keeps what it needs of them (`benchmark.test_results`)."""
        prediction = self.predict_batch(batch)
        return {"rows": self.evaluator.rows(prediction, batch),
                "prediction": prediction.detach().float().clamp(0, 1)}

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
