"""What `python -m benchmark list` shows: every model and dataset, described from the code itself.

Parameter counts are computed by building each model at its paper configuration for 1-channel 256x256
input, never typed in.
"""
from __future__ import annotations

import functools
import inspect
from typing import Any


def _summary(cls: type) -> str:
    doc = inspect.getdoc(inspect.getmodule(cls)) or inspect.getdoc(cls) or ""
    return doc.splitlines()[0] if doc else cls.__name__


@functools.cache
def describe_models(names: tuple[str, ...] | None = None) -> dict[str, dict[str, Any]]:
    """Every registered model, or only those of `names` (registered names or dotted paths) that are models."""
    from models import MODELS

    out = {}
    for name in [n for n in names if n in MODELS] if names else list(MODELS):
        cls = MODELS[name]
        model = cls(in_channels=1, out_channels=1, image_size=256)
        counts = {net: sum(p.numel() for p in module.parameters()) for net, module in model.networks().items()}
        out[name] = {"summary": _summary(cls), "class": f"{cls.__module__}.{cls.__name__}",
                     "trainable": cls.trainable, "parameters": counts}
    return out


def describe_datasets(names: tuple[str, ...] | None = None) -> dict[str, dict[str, Any]]:
    """Every registered dataset, or only `names` (a name that is not a dataset is left out)."""
    from datamodules import DATASETS

    chosen = [n for n in names if n in DATASETS] if names else list(DATASETS)
    return {name: {"summary": _summary(cls), "class": f"{cls.__module__}.{cls.__name__}", "task": cls.task,
                   "channels": cls.channels, "paired": cls.paired, "extra_metrics": list(cls.extra_metrics)}
            for name, cls in ((n, DATASETS[n]) for n in chosen)}
