"""Staged training (FI-GAN-TGFT: pre-train, then fine-tune): a model's stages fitted in turn, in one run.

The one place that knows about stages (`models.stages`): the runner asks `fit_stages` instead of
`trainer.fit` when a model declares them. Each stage starts from the previous stage's best-validation
weights. Earlier stages keep their checkpoints and logs under `stages/<name>/` and mark themselves done
(`stage.json`), so a resumed run does not fit them again; the last stage uses the run folder itself, so its
best checkpoint is the run's, and it is the one scored on the run's validation set (a sweep's pruner joins
it only).
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import EarlyStopping

from benchmark import checkpoints, records
from benchmark.config import build_config
from benchmark.errors import UsageError
from benchmark.exact_resume import train_seconds
from benchmark.resume import keep_log_history, merge_log_history
from benchmark.run_config import RunConfig
from benchmark.trainer import make_trainer
from datamodules import DATASETS
from datamodules.base import PairedDataModule
from models.base import TranslationModel
from models.stages import StagedModel, TrainingStage

STAGE_DONE = "stage.json"


def is_staged(model: TranslationModel) -> bool:
    return isinstance(model, StagedModel) and model.trainable


def check_stages(model: TranslationModel) -> None:
    """Unknown stage datasets fail before anything is written."""
    for stage in model.training_stages() if is_staged(model) else []:
        if stage.dataset is not None:
            DATASETS.resolve(stage.dataset)


def stage_datamodule(config: RunConfig, stage: TrainingStage, datamodule: PairedDataModule) -> PairedDataModule:
    """The datamodule a stage fits on: the run's own (with the stage's data options) or another registered
    dataset, configured by the same preset's sections for that dataset (the run's `data.*` values belong to
    the run's dataset and are not applied to another one)."""
    options = {k: v for k, v in stage.data.items() if v is not None}
    if stage.dataset is None:
        if not options:
            return datamodule
        data_cls, root, data = config.data_cls, config.data_root, {**config.sections["data"], **options}
    else:
        data_cls = DATASETS.resolve(stage.dataset)
        data = build_config(config.model, stage.dataset, config.preset, config.model_cls, data_cls,
                            values={"data": options})["data"]
        root = stage.root
    stage_data = data_cls(root=root, seed=config.seed, **data)
    stage_data.setup()
    if stage_data.channels != datamodule.channels:
        raise UsageError(f"training stage {stage.name!r}: {stage_data.name} has {stage_data.channels} "
                         f"channels, {datamodule.name} {datamodule.channels}")
    return stage_data


def stage_done(folder: Path) -> tuple[str | None, dict[str, Any]] | None:
    """(best checkpoint, record row) of a finished earlier stage of a resumed run, else None."""
    try:
        done = json.loads((folder / STAGE_DONE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    name = done.get("checkpoint")
    return (str(folder / checkpoints.FOLDER / name) if name else None), done["row"]


def mark_stage_done(folder: Path, checkpoint: str | None, row: dict[str, Any]) -> None:
    records.write_json(folder / STAGE_DONE, {"checkpoint": Path(checkpoint).name if checkpoint else None,
                                             "row": row})


def fit_stages(config: RunConfig, model: TranslationModel, datamodule: PairedDataModule, out: Path,
               callbacks: list[L.Callback] | None, resume: bool = False,
               writer: bool = True) -> tuple[L.Trainer, str | None, list[dict[str, Any]]]:
    """Fit the stages in turn; returns the last trainer, its best checkpoint and one record row per stage.
    Resuming, a stage that finished is not fitted again, and the one that was interrupted continues from its
    own last checkpoint."""
    assert isinstance(model, StagedModel)
    stages = model.training_stages()
    trainer, checkpoint, rows = None, None, []
    for index, stage in enumerate(stages):
        last = index == len(stages) - 1
        folder = out if last else out / "stages" / stage.name
        if checkpoint:  # start from the previous stage's best-validation weights
            state = torch.load(checkpoint, map_location=model.device, weights_only=True)["state_dict"]
            model.load_state_dict(state)
        model.begin_stage(stage)
        done = stage_done(folder) if resume and not last else None
        if done is not None:
            checkpoint, row = done
            rows.append(row)
            continue
        stage_data = stage_datamodule(config, stage, datamodule)
        stage_config = config.with_trainer({k: v for k, v in stage.trainer.items() if v is not None})
        extra = list(callbacks or []) if last else []
        if stage.early_stopping_patience:
            extra.append(EarlyStopping(monitor="val/psnr", mode="max", patience=stage.early_stopping_patience))
        start = checkpoints.latest(folder) if resume else None
        if start is not None and not last and writer:  # the run's own folder: `claim` did it
            keep_log_history(folder, start.batches)
        trainer = make_trainer(stage_config, folder, model, extra)
        began = time.perf_counter()
        trainer.fit(model, datamodule=stage_data, ckpt_path=start.path if start else None, weights_only=True)
        checkpoint = trainer.checkpoint_callback.best_model_path or None
        best = trainer.checkpoint_callback.best_model_score
        # The stage's time in the training loop, its time before an interruption included; a finished stage
        # keeps it in stage.json, so a resumed run's total still counts every stage.
        row = {"name": stage.name, "epochs": trainer.current_epoch,
               "best_val_psnr": float(best) if best is not None else None,
               "train_seconds": train_seconds(trainer, fallback=time.perf_counter() - began),
               "data_source": f"{stage_data.name}:{stage_data.root or 'synthetic'}",
               **({"resumed_from_step": start.step} if start else {})}
        rows.append(row)
        if not last and writer and trainer.global_rank == 0:
            merge_log_history(folder)
            mark_stage_done(folder, checkpoint, row)
    assert trainer is not None, "a staged model declares at least one stage"
    return trainer, checkpoint, rows
