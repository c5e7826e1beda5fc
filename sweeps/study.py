"""Creating, joining and loading studies; the sampler and pruner each worker builds from the settings.

Samplers and pruners are not stored by Optuna, so every worker rebuilds them from the study's settings:
- tpe (default for one objective): TPE with `constant_liar`, so parallel workers do not all sample the point
  the model currently favours; random start-up trials: half of N, at most 10.
- nsga2 (default for psnr,ssim): NSGA-II, population a quarter of N (4..50), for the Pareto front.
- random; grid: the space file's `grid` (variants x seeds), every point exactly once (trial numbers below the
  grid size map one to one onto grid points, so workers never duplicate one).
- pruners: median (default; warm-up a fifth of the epochs), hyperband (1..max_epochs), none. Pruning needs
  one objective (Optuna cannot prune multi-objective trials) and is off in grid mode (a controlled
  experiment trains every variant to the end).
"""
from __future__ import annotations

import warnings
from typing import Any

import optuna
from optuna.storages import BaseStorage

from benchmark.errors import UsageError
from sweeps.settings import ATTR, SweepSettings

SAMPLERS = ("tpe", "nsga2", "random", "grid")
PRUNERS = ("median", "hyperband", "none")


def make_sampler(settings: SweepSettings) -> optuna.samplers.BaseSampler:
    n = settings.trials
    if settings.sampler == "grid":
        grid = settings.search_space().grid
        assert grid is not None
        return optuna.samplers.GridSampler(grid.search_space(settings.seeds))
    if settings.sampler == "random":
        return optuna.samplers.RandomSampler()
    if settings.sampler == "nsga2":
        return optuna.samplers.NSGAIISampler(population_size=max(4, min(50, n // 4)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.samplers.TPESampler(n_startup_trials=max(1, min(10, n // 2)), constant_liar=True)


def make_pruner(settings: SweepSettings) -> optuna.pruners.BasePruner:
    if settings.pruner == "none" or settings.multi or settings.grid:
        return optuna.pruners.NopPruner()
    epochs = settings.max_epochs or 10
    if settings.pruner == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=max(2, epochs), reduction_factor=3)
    return optuna.pruners.MedianPruner(n_startup_trials=max(2, min(5, settings.trials // 4)),
                                       n_warmup_steps=max(1, epochs // 5))


def exists(backend: BaseStorage, name: str) -> bool:
    return name in optuna.get_all_study_names(storage=backend)


def load(backend: BaseStorage, name: str) -> tuple[optuna.Study, SweepSettings]:
    """A sweep's study and settings; one-line errors for a missing or foreign study."""
    if not exists(backend, name):
        names = optuna.get_all_study_names(storage=backend)
        raise UsageError(f"no study named {name!r} in this storage"
                         + (f" (studies: {', '.join(names)})" if names else " (it holds no study)"))
    raw = optuna.load_study(study_name=name, storage=backend).user_attrs.get(ATTR)
    if not raw:
        raise UsageError(f"study {name!r} was not created by `python -m sweeps run`")
    settings = SweepSettings.from_dict(raw)
    study = optuna.load_study(study_name=name, storage=backend, sampler=make_sampler(settings),
                              pruner=make_pruner(settings))
    return study, settings


def create_or_join(backend: BaseStorage, name: str, settings: SweepSettings,
                   enqueue: list[dict[str, Any]] | None = None) -> tuple[optuna.Study, SweepSettings, bool]:
    """The study `name`: created with `settings`, or joined when it exists with the same identity (its target
    count then follows the latest `--trials`). Returns (study, settings in force, created)."""
    if exists(backend, name):
        study, current = load(backend, name)
        conflicts = current.conflicts(settings)
        if conflicts:
            raise UsageError(f"study {name!r} exists with other settings ({'; '.join(conflicts)}); "
                             "choose another --study name")
        if current.trials != settings.trials:
            current.trials = settings.trials
            study.set_user_attr(ATTR, current.to_dict())
        for params in enqueue or []:
            study.enqueue_trial(params, skip_if_exists=True)
        return study, current, False
    directions = ["maximize"] * len(settings.objectives)
    study = optuna.create_study(study_name=name, storage=backend, directions=directions,
                                sampler=make_sampler(settings), pruner=make_pruner(settings), load_if_exists=True)
    study.set_user_attr(ATTR, settings.to_dict())
    study.set_metric_names([f"val_{o}" for o in settings.objectives])
    for params in enqueue or []:
        study.enqueue_trial(params, skip_if_exists=True)
    return study, settings, True
