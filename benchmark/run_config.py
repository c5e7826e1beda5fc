"""One build path: a request becomes a complete run configuration, and the configuration builds the run.

`run`, `evaluate`, `data check`, the sweeps' objective and `perf` all go through `prepare` (what to run,
validated in full before anything is written) and `build` (the datamodule, set up, and the model sized for
it with the dataset's evaluator). A `RunConfig` is the whole truth about a run: its saved form
(`RunConfig.saved`, the run folder's config.yaml) repeats the run exactly when given back as `--config`.

The run's identity (`RunConfig.digest`) covers what defines the experiment: model, dataset, preset, seed,
data root and every model, data and trainer value. How it executes (devices, nodes, logger, compile) is not
part of it, so a run resumed with other execution settings continues the same folder.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmark.config import FILE_SECTIONS, SECTIONS, build_config, load_yaml, parameters, shrunk
from benchmark.errors import DataError, UsageError
from benchmark.evaluation import evaluator_for
from benchmark.metrics import SSIM_WINDOW
from datamodules import DATASETS
from datamodules.base import PairedDataModule
from models import MODELS
from models.base import TranslationModel

LOGGERS = ("csv", "wandb")
MAX_SEED = 2**32 - 1  # numpy's seed range, which `lightning.seed_everything` enforces
DIGEST_LENGTH = 10


@dataclass(frozen=True)
class RunRequest:
    """What was asked for one run. `config_file` (a YAML path) or `config` (its already loaded mapping) is
    the layer above the preset; `overrides` are `section.key=value` strings; `values` (a sweep's sampled
    parameters) are layered last."""

    model: str
    data: str
    preset: str = "quick"
    seed: int = 0
    data_root: str | None = None
    devices: str = "auto"
    num_nodes: int = 1
    logger: str = "csv"
    compile: bool = False
    overrides: tuple[str, ...] = ()
    config_file: str | None = None
    config: Mapping[str, Any] | None = None
    values: Mapping[str, Mapping[str, Any]] | None = None


@dataclass
class RunConfig:
    """A run's complete, validated configuration."""

    model: str
    data: str
    preset: str
    seed: int
    data_root: str | None
    sections: dict[str, dict[str, Any]]  # model, data, trainer: every value, code defaults included
    devices: str = "auto"
    num_nodes: int = 1
    logger: str = "csv"
    compile: bool = False
    notes: list[str] = field(default_factory=list)  # what the configuration step decided on the user's behalf

    @property
    def model_cls(self) -> type[TranslationModel]:
        return MODELS.resolve(self.model)

    @property
    def data_cls(self) -> type[PairedDataModule]:
        return DATASETS.resolve(self.data)

    @property
    def trainer(self) -> dict[str, Any]:
        return self.sections["trainer"]

    def run_section(self) -> dict[str, Any]:
        return {"model": self.model, "data": self.data, "preset": self.preset, "seed": self.seed,
                "data_root": self.data_root}

    def execution(self) -> dict[str, Any]:
        return {"devices": self.devices, "num_nodes": self.num_nodes, "logger": self.logger,
                "compile": self.compile}

    def experiment(self) -> dict[str, Any]:
        """What defines the experiment (the identity's input)."""
        return {"run": self.run_section(), **{s: self.sections[s] for s in SECTIONS}}

    @property
    def digest(self) -> str:
        text = json.dumps(self.experiment(), sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:DIGEST_LENGTH]

    def saved(self, derived: dict[str, Any] | None = None) -> dict[str, Any]:
        """The run folder's config.yaml: the experiment, how it executed, and what the runner derived."""
        out = {**self.experiment(), "execution": self.execution()}
        if derived:
            out["derived"] = derived
        return out

    def with_trainer(self, settings: Mapping[str, Any]) -> RunConfig:
        """The same run with some trainer settings replaced (a training stage's own schedule)."""
        sections = {**self.sections, "trainer": {**self.trainer, **settings}}
        return dataclasses.replace(self, sections=sections)


def _check_execution(request: RunRequest) -> None:
    if isinstance(request.seed, bool) or not isinstance(request.seed, int) or not 0 <= request.seed <= MAX_SEED:
        raise UsageError(f"--seed {request.seed!r}: expected an integer in [0, {MAX_SEED}]")
    devices = str(request.devices).strip()
    if not (devices == "auto" or devices.isdigit() and int(devices) >= 1
            or all(p.strip().isdigit() for p in devices.split(",")) and "," in devices):
        raise UsageError(f"--devices {request.devices!r}: expected auto, a count >= 1 or a list like 0,1")
    if isinstance(request.num_nodes, bool) or not isinstance(request.num_nodes, int) or request.num_nodes < 1:
        raise UsageError(f"--num-nodes {request.num_nodes!r}: expected an integer >= 1")
    _check_devices_available(devices)
    if request.logger not in LOGGERS:
        raise UsageError(f"--logger {request.logger!r} is not one of {', '.join(LOGGERS)}")


def _check_devices_available(devices: str) -> None:
    """GPUs asked for exist here. A count on a machine without GPUs is that many CPU processes (DDP on
    CPU); a list names GPUs."""
    import torch

    visible = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if "," in devices:
        if not visible:
            raise UsageError(f"--devices {devices}: a list names GPUs and none is visible here; "
                             "give a count (CPU processes) or auto")
        missing = [i for i in (int(p) for p in devices.split(",")) if i >= visible]
        if missing:
            raise UsageError(f"--devices {devices}: GPU {missing[0]} does not exist ({visible} visible)")
    elif devices.isdigit() and visible and int(devices) > visible:
        raise UsageError(f"--devices {devices}: only {visible} GPU(s) visible here")


def check_image_sizes(datamodule: PairedDataModule) -> None:
    """Sizes that would fail after training, refused before: evaluation images smaller than SSIM's window,
    a training crop larger than a training image."""
    where = datamodule.root or "the synthetic data"
    for name in [s for s in ("val", "test") if s in datamodule.splits]:  # a test-only root has no val
        h, w = min((tuple(t.shape[-2:]) for t in datamodule.splits[name].target), key=min)
        if min(h, w) < SSIM_WINDOW:
            raise DataError(f"{datamodule.name}: a {name} image under {where} is {h}x{w}, smaller than the "
                            f"{SSIM_WINDOW}x{SSIM_WINDOW} window of SSIM")
    crop = datamodule.crop_size
    train = datamodule.splits.get("train")
    if crop and train is not None:
        h, w = min(((min(s.shape[-2], t.shape[-2]), min(s.shape[-1], t.shape[-1]))
                    for s, t in zip(train.source, train.target)), key=min)
        if crop > min(h, w):
            raise UsageError(f"data.crop_size={crop} is larger than the smallest training image ({h}x{w}) "
                             f"of {datamodule.name}")


def prepare(request: RunRequest) -> RunConfig:
    """The complete configuration of a request, fully validated; UsageError (one line) on any bad name, key,
    value or execution setting. Machine-dependent defaults are resolved here, so the saved configuration
    says what was used: the precision (bf16 on a capable GPU) and the loader workers (GPU nodes)."""
    from benchmark.fast_paths import default_num_workers
    from benchmark.trainer import default_precision

    _check_execution(request)
    model_cls, data_cls = MODELS.resolve(request.model), DATASETS.resolve(request.data)
    defaults: dict[str, dict[str, Any]] = {}
    if "num_workers" in parameters(data_cls) and default_num_workers():
        defaults["data"] = {"num_workers": default_num_workers()}
    layer = dict(request.config) if request.config is not None else (
        load_yaml(Path(request.config_file), "config file", FILE_SECTIONS) if request.config_file else None)
    sections = build_config(request.model, request.data, request.preset, model_cls, data_cls,
                            request.overrides, values=dict(request.values or {}), defaults=defaults,
                            layer=layer)
    sections["trainer"]["precision"] = sections["trainer"]["precision"] or default_precision()
    note = shrunk(request.preset, model_cls)[1]
    return RunConfig(model=request.model, data=request.data, preset=request.preset, seed=request.seed,
                     data_root=request.data_root, sections=sections, devices=str(request.devices),
                     num_nodes=request.num_nodes, logger=request.logger, compile=request.compile,
                     notes=[note] if note else [])


def saved_request(path: Path, **changes: Any) -> RunRequest:
    """The request that repeats the run whose config.yaml is at `path` (its `run` and `execution` sections),
    with `changes` (e.g. another seed or data root) applied."""
    saved = load_yaml(path, "config file", FILE_SECTIONS)
    run, execution = saved.get("run") or {}, saved.get("execution") or {}
    missing = [k for k in ("model", "data", "preset", "seed") if k not in run]
    if missing:
        raise UsageError(f"config file {path}: its run section lacks {', '.join(missing)} (not a run's config.yaml)")
    fields = {k: run[k] for k in ("model", "data", "preset", "seed", "data_root") if k in run}
    fields.update({k: execution[k] for k in ("devices", "num_nodes", "logger", "compile") if k in execution})
    fields.update({k: v for k, v in changes.items() if v is not None})
    return RunRequest(config=saved, **fields)


def build_datamodule(config: RunConfig) -> PairedDataModule:
    """The datamodule, set up (so bad data fails here, before anything is written)."""
    datamodule = config.data_cls(root=config.data_root, seed=config.seed, **config.sections["data"])
    datamodule.setup()
    check_image_sizes(datamodule)
    return datamodule


def derived(config: RunConfig, datamodule: PairedDataModule) -> dict[str, Any]:
    """The model arguments the runner sets from the dataset (not configurable)."""
    sizing: dict[str, Any] = {"in_channels": datamodule.channels, "out_channels": datamodule.channels,
                              "image_size": datamodule.image_size}
    if "scale" in parameters(config.model_cls):  # models that up-sample themselves take the task's factor
        sizing["scale"] = datamodule.scale
    return sizing


def model_for(config: RunConfig, sizing: dict[str, Any]) -> TranslationModel:
    """The configured model at a given sizing (`derived`; the perf harness times other sizes)."""
    model = config.model_cls(**sizing, **config.sections["model"])
    model.max_nonfinite_steps = int(config.trainer["max_nonfinite_steps"])
    return model


def build_model(config: RunConfig, datamodule: PairedDataModule) -> TranslationModel:
    """The model sized for the datamodule, scored by the dataset's evaluator."""
    model = model_for(config, derived(config, datamodule))
    model.evaluator = evaluator_for(datamodule)
    return model


def build(config: RunConfig) -> tuple[PairedDataModule, TranslationModel]:
    datamodule = build_datamodule(config)
    return datamodule, build_model(config, datamodule)
