"""What a test epoch produced, collected by the runner: per-image rows and a few sample images.

Why a callback, not state on the model: the model's shared `test_step` returns its rows (scored by the
dataset's evaluator) and predictions, and whoever runs the test (`run`, `evaluate`) owns what is kept of
them. Rows are gathered across processes once, at the end of the epoch, and de-duplicated by id: a
distributed sampler pads the test set by repeating images, which must not count twice.
"""
from __future__ import annotations

from typing import Any

import lightning as L
import torch
import torch.distributed as dist

SAMPLE_IMAGES = 4  # test images kept for the record's sample figure


class TestResults(L.Callback):
    """Per-image rows (`rows`, sorted by id) and up to `samples` (source, prediction, target) triples with
    their ids (`sample_ids`, `samples`), from rank 0's first batches."""

    def __init__(self, samples: int = SAMPLE_IMAGES) -> None:
        self.keep = samples
        self.rows: list[dict[str, Any]] = []
        self.samples: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []
        self.sample_ids: list[str] = []

    def on_test_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.rows, self.samples, self.sample_ids = [], [], []

    def on_test_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any,
                          batch: dict[str, Any], batch_idx: int, dataloader_idx: int = 0) -> None:
        self.rows.extend(outputs["rows"])
        prediction = outputs["prediction"]
        for i in range(min(len(batch["id"]), self.keep - len(self.samples))):
            self.samples.append((batch["source"][i].cpu(), prediction[i].cpu(), batch["target"][i].cpu()))
            self.sample_ids.append(batch["id"][i])

    def on_test_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        rows = self.rows
        if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
            gathered: list[list[dict[str, Any]]] = [[] for _ in range(dist.get_world_size())]
            dist.all_gather_object(gathered, rows)
            rows = [r for part in gathered for r in part]
        unique: dict[str, dict[str, Any]] = {}
        for row in rows:
            unique.setdefault(row["id"], row)  # padded duplicates carry identical values
        self.rows = sorted(unique.values(), key=lambda r: r["id"])
        pl_module.evaluator.gather()  # on every rank: the volume protocols score whole volumes
