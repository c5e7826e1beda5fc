"""Score a trained checkpoint on a test set (typically real data): `python -m benchmark evaluate`.

The run is rebuilt from its own config.yaml (the folder holding `checkpoints/`), exactly as `run` builds it
(`benchmark.run_config`): same model arguments, same data options (its size among them), same dataset
evaluator with every extra metric, same precision and placement. Only the data root and the user's
`--set data.*` change; with another `--data` its data options come from the run's preset for that dataset.
A real folder given here is a test folder: every image or subject in it is scored
(`data.train_source=synthetic` where the datamodule has it, unless set). Results land in
`$RESULTS_DIR/evaluations/<data>/<model>/<id>/`.
"""
from __future__ import annotations

import dataclasses
import time
import uuid
from pathlib import Path
from typing import Any

import torch

from benchmark import records
from benchmark.config import FILE_SECTIONS, load_yaml, parameters
from benchmark.errors import BenchError, UsageError
from benchmark.evaluation import evaluator_for
from benchmark.run_config import RunConfig, build_datamodule, derived, model_for, prepare, saved_request
from benchmark.test_results import TestResults
from benchmark.trainer import scoring_trainer
from datamodules.base import PairedDataModule
from models.base import TranslationModel


def _data_overrides(overrides: list[str]) -> list[str]:
    for item in overrides:
        if not item.strip().startswith("data."):
            raise UsageError(f"--set {item!r}: evaluate takes data.* options only (the model is the run's)")
    return overrides


def evaluation_config(checkpoint: Path, data: str | None = None, data_root: str | None = None,
                      overrides: list[str] | None = None, devices: str | None = None) -> RunConfig:
    """The run's own configuration with the evaluation's data root and data options."""
    config_path = checkpoint.parent.parent / "config.yaml"
    if not config_path.is_file():
        raise UsageError(f"--checkpoint {checkpoint}: no config.yaml in its run folder {config_path.parent}")
    overrides = _data_overrides(list(overrides or []))
    request = saved_request(config_path, devices=devices)
    request = dataclasses.replace(request, data_root=data_root)
    if data and data != request.data:
        saved = load_yaml(config_path, "config file", FILE_SECTIONS)
        request = dataclasses.replace(request, data=data, config={k: v for k, v in saved.items() if k != "data"})
    config = prepare(dataclasses.replace(request, overrides=tuple(overrides)))
    set_by_user = any(item.split("=", 1)[0].strip() == "data.train_source" for item in overrides)
    if data_root and "train_source" in parameters(config.data_cls) and not set_by_user:
        config = prepare(dataclasses.replace(request, overrides=(*overrides, "data.train_source=synthetic")))
    return config


def load_weights(model: TranslationModel, checkpoint: Path) -> None:
    """The checkpoint's weights into the model built from the run's configuration: every network parameter
    must be there (feature networks of perceptual losses, built only for training, may be extra)."""
    try:
        state = torch.load(checkpoint, map_location="cpu", weights_only=True)["state_dict"]
    except Exception as exc:  # noqa: BLE001 - any unreadable file (pickle, zip, keys) is the user's input problem
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise BenchError(f"--checkpoint {checkpoint}: not a loadable checkpoint ({first})") from None
    missing, _ = model.load_state_dict(state, strict=False)
    if missing:
        raise BenchError(f"--checkpoint {checkpoint}: does not fit the run's {type(model).__name__} "
                         f"({len(missing)} weights missing, e.g. {missing[0]})")


def trained_model(config: RunConfig, datamodule: PairedDataModule, checkpoint: Path) -> TranslationModel:
    """The run's model at the sizing it was trained with (its config.yaml's `derived` section: a test-only
    folder has no training images to size it by), its weights, and the test set's evaluator."""
    saved = load_yaml(checkpoint.parent.parent / "config.yaml", "config file", FILE_SECTIONS)
    sizing = saved.get("derived") or derived(config, datamodule)
    if sizing.get("in_channels", datamodule.channels) != datamodule.channels:
        raise BenchError(f"--checkpoint {checkpoint} expects {sizing['in_channels']}-channel images, "
                         f"{config.data} has {datamodule.channels}")
    model = model_for(config, sizing)
    load_weights(model, checkpoint)
    model.evaluator = evaluator_for(datamodule)
    return model


def evaluate(checkpoint: str, data: str | None = None, data_root: str | None = None,
             overrides: list[str] | None = None, devices: str | None = None
             ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Score a checkpoint; returns the summary (written to metrics.json) and the per-image rows."""
    path = Path(checkpoint)
    if not path.is_file():
        raise BenchError(f"--checkpoint {checkpoint} does not exist")
    config = evaluation_config(path, data, data_root, overrides, devices)
    datamodule = build_datamodule(config)
    model = trained_model(config, datamodule, path)
    results = TestResults()
    trainer = scoring_trainer(config, model, [results])
    trainer.test(model, datamodule=datamodule, verbose=False)
    summary = model.evaluator.summary(results.rows)
    result = {"status": "complete", "checkpoint": str(path), "model": config.model, "dataset": config.data,
              "preset": config.preset, "seed": config.seed, "data_source": data_root or "synthetic",
              **summary, "better": model.evaluator.better()}
    if trainer.global_rank == 0:
        out = (records.results_dir() / "evaluations" / config.data / config.model /
               f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}")
        records.ensure_writable(out)
        records.write_yaml(out / "config.yaml", config.saved())
        records.write_csv(out / "per_image.csv", results.rows)
        records.write_json(out / "metrics.json", result)
        result["output"] = str(out)
    return result, results.rows


def print_summary(result: dict[str, Any]) -> None:
    test, floor = result["test"], result["input"]
    print(f"{result['model']} on {result['dataset']} ({result['data_source']}), {result['images']} images")
    for metric in test:
        arrow = "↑" if result["better"][metric] == "higher" else "↓"
        print(f"  {metric:<6}{arrow} model {test[metric]:.4f}   input {floor[metric]:.4f}")
    if "output" in result:
        print(f"written to {result['output']}")
