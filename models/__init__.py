"""Models: one LightningModule per method, all scored by the shared evaluation of `models.base`.

`MODELS` maps the short names used on the command line to the classes. A model registers itself in its own
file with `@register_model("name")`; installed packages add theirs through the `i2i_bench.models` entry
points, and `--model pkg.module:Class` needs no registration (`benchmark.registry`).
"""
from __future__ import annotations

from benchmark.registry import Registry


def _base() -> type:
    from models.base import TranslationModel

    return TranslationModel


MODELS: Registry = Registry("model", "--model", "models", "i2i_bench.models", _base, skip=("networks", "losses"))
register_model = MODELS.register
