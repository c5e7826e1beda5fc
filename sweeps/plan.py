"""From `run`'s options to a study's settings, every mistake caught before a storage is touched.

Why a probe: a sampled configuration is checked the way every trial will check it (preset, fixed --set,
sampled values, `benchmark.config.validate`), once, so a wrong key in a space file or a k_max fraction
without a crop fails here in one line, not in every worker's first trial.
"""
from __future__ import annotations

import argparse
from typing import Any

import optuna
import yaml

from benchmark.config import merge, parse_overrides, preset_layers, validate
from benchmark.errors import UsageError
from benchmark.run_config import RunConfig, RunRequest, prepare
from datamodules import DATASETS
from models import MODELS
from sweeps.settings import SweepSettings, parse_objectives
from sweeps.space import SearchSpace, load_space
from sweeps.study import PRUNERS, SAMPLERS

DEFAULT_TRIALS = 20


def training_crop(config: RunConfig) -> int | None:
    """The side of the training crop: data.crop_size, else the image size (data.size), else None."""
    data = config.sections["data"]
    for key in ("crop_size", "size"):
        value = data.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return None


def preset_fixed(preset: str, model: str, data: str, fixed: dict[str, dict[str, Any]],
                 space: SearchSpace) -> dict[str, Any]:
    """Loss terms the preset turns off for this model (its `models:` and `pairs:` entries set to 0) that the
    space could switch on (`zero_allowed`): they stay off. Why: a preset encodes what its setting can do, e.g.
    smoke and quick turn the perceptual terms off (no ImageNet weights offline); sampling them would only make
    failing trials. Any other preset value (a learning rate, a depth) is a default the study searches."""
    layers = preset_layers(preset, model, data, MODELS[model], DATASETS[data])
    own = {**(layers[2].get("model") or {}), **(layers[3].get("model") or {})}
    switchable = {p.target[1] for p in space.params if p.target[0] == "model" and p.zero_allowed}
    return {k: v for k, v in own.items()
            if k in switchable and v == 0 and k not in fixed.get("model", {})}


def plan(args: argparse.Namespace) -> SweepSettings:
    model_cls, data_cls = MODELS.resolve(args.model), DATASETS.resolve(args.data)
    if not model_cls.trainable:
        raise UsageError(f"--model {args.model} is not trained: there is nothing to sweep")
    objectives = parse_objectives(args.objective)
    sampler = args.sampler or ("nsga2" if len(objectives) > 1 else "tpe")
    if sampler not in SAMPLERS:
        raise UsageError(f"--sampler {sampler!r} is not one of {', '.join(SAMPLERS)}")
    if args.pruner not in PRUNERS:
        raise UsageError(f"--pruner {args.pruner!r} is not one of {', '.join(PRUNERS)}")
    if not str(args.devices).isdigit() or int(args.devices) < 1:
        raise UsageError(f"--devices {args.devices!r}: expected a count of at least 1")
    overrides = [item for group in args.overrides for item in group.split()]
    base = prepare(RunRequest(model=args.model, data=args.data, preset=args.preset, seed=args.seed,
                              data_root=args.data_root, devices=str(args.devices), overrides=tuple(overrides)))
    fixed = parse_overrides(overrides)
    space = load_space(args.model, args.space)
    space.check(model_cls, data_cls)
    grid = sampler == "grid"
    seeds, by_preset = 0, {}
    if grid:
        if space.grid is None:
            raise UsageError(f"--sampler grid: the search space {space.source} has no grid section")
        pinned = sorted(k for v in space.grid.variants.values() for k in v if k in fixed.get("model", {}))
        if pinned:
            raise UsageError(f"--set model.{pinned[0]} conflicts with the grid's variants, which set it")
        seeds = args.seeds or space.grid.seeds
        size = len(space.grid.variants) * seeds
        if args.trials is not None and args.trials != size:
            raise UsageError(f"--trials {args.trials}: the grid has {len(space.grid.variants)} variants x {seeds} "
                             f"seeds = {size} trials (leave --trials out, or change --seeds)")
        trials = size
        space = SearchSpace(space.model, [], space.grid, space.source)
    else:
        by_preset = preset_fixed(args.preset, args.model, args.data, fixed, space)
        space = space.pinned(merge(fixed, {"model": by_preset}))
        if not space.params:
            raise UsageError("every parameter of the search space is fixed by --set or the preset: nothing "
                             "to sample")
        trials = args.trials if args.trials is not None else DEFAULT_TRIALS
    if trials < 1:
        raise UsageError(f"--trials {trials}: expected at least 1")
    settings = SweepSettings(
        model=args.model, data=args.data, preset=args.preset, trials=trials, objectives=objectives,
        preset_fixed=[f"model.{k}={v}" for k, v in by_preset.items()],
        sampler=sampler, pruner=args.pruner, overrides=overrides, space=space.to_dict(), grid=grid, seeds=seeds,
        seed=args.seed, data_root=args.data_root, devices=str(args.devices),
        crop=training_crop(base), max_epochs=base.trainer["max_epochs"])
    probe(settings, base)
    return settings


def probe(settings: SweepSettings, base: RunConfig) -> None:
    """Validate the configurations of every grid variant, or of every choice of every categorical parameter
    (the rest sampled at random)."""
    space = settings.search_space()
    study = optuna.create_study(directions=["maximize"] * len(settings.objectives))
    if settings.grid and space.grid:
        points: list[dict[str, Any]] = [{"variant": v, "seed": 0} for v in space.grid.variants]
    else:
        points = [{}] + [{p.name: c} for p in space.params for c in p.choices]
    for params in points:
        study.enqueue_trial(params)
        trial = study.ask()
        if settings.grid:
            assert space.grid is not None
            sampled, _ = space.grid.suggest(trial, settings.seeds)
        else:
            sampled = space.suggest(trial, settings.crop)
        config = {k: merge(base.sections[k], sampled.get(k, {})) for k in ("model", "data", "trainer")}
        validate(config, base.model_cls, base.data_cls, settings.model, settings.data)


def parse_enqueue(items: list[str], settings: SweepSettings) -> list[dict[str, Any]]:
    """--enqueue "k_max=1/2 lr=1.0e-3": parameters to evaluate first (names as in the space file)."""
    space = settings.search_space()
    names = set(space.names()) | {f"{p.name}_on" for p in space.params if p.zero_allowed}
    if settings.grid:
        names |= {"variant", "seed"}
    out = []
    for item in items:
        params: dict[str, Any] = {}
        for pair in item.split():
            key, sep, raw = pair.partition("=")
            if not sep or key not in names:
                raise UsageError(f"--enqueue {pair!r}: expected name=value with name one of {', '.join(sorted(names))}")
            params[key] = _value(raw)
        out.append(params)
    return out


def _value(raw: str) -> Any:
    try:
        value = yaml.safe_load(raw)
    except yaml.YAMLError:
        return raw
    if isinstance(value, str):
        try:
            return float(value)  # YAML reads 1e-3 as a string; a number is meant
        except ValueError:
            return value
    return value
