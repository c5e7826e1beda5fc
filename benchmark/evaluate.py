"""Score a trained checkpoint on a test set (typically real data): `python -m benchmark evaluate`.

The model is rebuilt from the checkpoint's own hyper-parameters (loaded with `weights_only=True`) and the
model name in its run folder's config.yaml (or `--model`); the datamodule is built from `--data`,
`--data-root` and `--set data.*` overrides, and only its test split is used: for a real folder that is
every image in it (``data.train_source=synthetic`` where the datamodule has it; override with --set). Scoring is the same shared
Evaluator every benchmark run uses. Results land in `$RESULTS_DIR/evaluations/<data>/<model>/<id>/`.
"""
from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import lightning as L
import yaml

from benchmark import records
from benchmark.config import build_config, parameters
from benchmark.errors import BenchError, UsageError
from benchmark.evaluation import Evaluator, summarise
from benchmark.runner import resolve
from datamodules import DATASETS
from models import MODELS


def model_name_for(checkpoint: Path, model: str | None) -> str:
    """`--model`, else the `run.model` of the run folder holding the checkpoint."""
    if model:
        return model
    config_path = checkpoint.parent.parent / "config.yaml"
    if not config_path.is_file():
        raise UsageError(f"--checkpoint {checkpoint}: no config.yaml in its run folder; pass --model")
    with open(config_path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)["run"]["model"]


def _set_by_user(key: str, overrides: list[str] | None) -> bool:
    return any(item.split("=", 1)[0].strip() == key for item in overrides or [])


def load_model(checkpoint: Path, name: str) -> L.LightningModule:
    cls = resolve(name, MODELS, "--model")
    try:
        return cls.load_from_checkpoint(checkpoint, map_location="cpu", weights_only=True)
    except Exception as exc:  # any unreadable file (pickle, zip, key errors) is the user's input problem
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise BenchError(f"--checkpoint {checkpoint}: not a loadable {name} checkpoint ({first})") from None


def evaluate(checkpoint: str, data: str, data_root: str | None = None, model: str | None = None,
             overrides: list[str] | None = None, devices: str = "auto") -> dict[str, Any]:
    path = Path(checkpoint)
    if not path.is_file():
        raise BenchError(f"--checkpoint {checkpoint} does not exist")
    name = model_name_for(path, model)
    data_cls = resolve(data, DATASETS, "--data")
    config = build_config(name, data, "quick", MODELS[name], data_cls, overrides)
    if data_root and "train_source" in parameters(data_cls) and not _set_by_user("data.train_source", overrides):
        # A real folder given here is a test folder: every image in it is scored (the datamodule's own
        # train/val/test split of a real folder would score a fifth of it).
        config["data"]["train_source"] = "synthetic"
    datamodule = data_cls(root=data_root, seed=0, **config["data"])
    datamodule.setup()
    net = load_model(path, name)
    if net.in_channels != datamodule.channels:
        raise BenchError(f"--checkpoint {checkpoint} expects {net.in_channels}-channel images, "
                         f"{data} has {datamodule.channels}")
    net.evaluator = Evaluator(masked=datamodule.masked_metrics, volumetric=datamodule.volumetric)
    devices_arg = int(devices) if str(devices).isdigit() else devices
    strategy = "ddp" if isinstance(devices_arg, int) and devices_arg > 1 else "auto"
    trainer = L.Trainer(accelerator="auto", devices=devices_arg, strategy=strategy, logger=False,
                        enable_progress_bar=False, enable_model_summary=False, enable_checkpointing=False)
    trainer.test(net, datamodule=datamodule, verbose=False)
    summary = summarise(net.test_rows, net.evaluator.metrics, datamodule.volumetric)
    result = {"checkpoint": str(path), "model": name, "dataset": data, "data_source": data_root or "synthetic",
              **summary, "better": net.evaluator.better()}
    if trainer.global_rank == 0:
        out = (records.results_dir() / "evaluations" / data / name /
               f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}")
        records.ensure_writable(out)
        records.write_csv(out / "per_image.csv", net.test_rows)
        records.write_json(out / "metrics.json", result)
        result["output"] = str(out)
    return result


def print_summary(result: dict[str, Any]) -> None:
    test, floor = result["test"], result["input"]
    print(f"{result['model']} on {result['dataset']} ({result['data_source']}), {result['images']} images")
    for metric in test:
        arrow = "↑" if result["better"][metric] == "higher" else "↓"
        print(f"  {metric:<6}{arrow} model {test[metric]:.4f}   input {floor[metric]:.4f}")
    if "output" in result:
        print(f"written to {result['output']}")
