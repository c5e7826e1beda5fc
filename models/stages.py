"""Training stages: a model fitted more than once (pre-training, then fine-tuning) declares its stages.

Why: FI-GAN's transfer-learning variant (Zhang C. et al., Biomed. Opt. Express 10(9):4742, 2019) first trains on
a large pre-training set, then fine-tunes on the target data with other loss weights, learning rate, crop and
batch size and early stopping. The model only *declares* the stages; the runner builds each stage's datamodule
through the dataset registry (models never import datamodules) and fits them in turn with the one shared code
path, starting each stage from the previous stage's best-validation weights. Single-stage models do not use
this at all.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lightning.pytorch.utilities import AttributeDict


@dataclass(frozen=True)
class TrainingStage:
    """One fit of a multi-stage model.

    name      : shown in the record (``stages[].name``) and naming the stage's folder of checkpoints/logs
    hparams   : model hyper-parameters set at the start of the stage (loss weights, learning rate...)
    data      : datamodule options for the stage (``crop_size``, ``batch_size``); None values are ignored
    dataset   : registry name of the dataset to train on; None: the run's own dataset
    root      : that dataset's data root (only with ``dataset``); None: its synthetic default
    trainer   : trainer settings for the stage (``max_epochs``...); None values are ignored
    early_stopping_patience : stop after this many validation epochs without a better PSNR; None: never
    """

    name: str
    hparams: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)
    dataset: str | None = None
    root: str | None = None
    trainer: dict[str, Any] = field(default_factory=dict)
    early_stopping_patience: int | None = None


class StagedModel:
    """Mixin for LightningModules trained in several stages (see the module docstring)."""

    hparams: AttributeDict

    def training_stages(self) -> list[TrainingStage]:
        raise NotImplementedError

    def begin_stage(self, stage: TrainingStage) -> None:
        """Apply the stage's hyper-parameters; subclasses refresh anything derived from them."""
        for key, value in stage.hparams.items():
            if key not in self.hparams:
                raise KeyError(f"stage {stage.name!r} sets unknown hyper-parameter {key!r}")
            self.hparams[key] = value
