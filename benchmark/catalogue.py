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
def describe_models() -> dict[str, dict[str, Any]]:
    from models import MODELS

    out = {}
    for name, cls in MODELS.items():
        model = cls(in_channels=1, out_channels=1, image_size=256)
        counts = {net: sum(p.numel() for p in module.parameters()) for net, module in model.networks().items()}
        out[name] = {"summary": _summary(cls), "class": f"{cls.__module__}.{cls.__name__}",
                     "trainable": cls.trainable, "parameters": counts}
    return out


def describe_datasets() -> dict[str, dict[str, Any]]:
    from datamodules import DATASETS

    return {name: {"summary": _summary(cls), "class": f"{cls.__module__}.{cls.__name__}", "task": cls.task,
                   "channels": cls.channels, "paired": cls.paired, "extra_metrics": list(cls.extra_metrics)}
            for name, cls in DATASETS.items()}
