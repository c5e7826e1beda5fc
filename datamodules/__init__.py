"""Datasets: one LightningDataModule per dataset, all yielding the batch format of `datamodules.base`.

`DATASETS` maps the short names used on the command line to the classes. A dataset registers itself in its
own file with `@register_dataset("name")`; installed packages add theirs through the `i2i_bench.datasets`
entry points, and `--data pkg.module:Class` needs no registration (`benchmark.registry`).
"""
from __future__ import annotations

from benchmark.registry import Registry


def _base() -> type:
    from datamodules.base import PairedDataModule

    return PairedDataModule


DATASETS: Registry = Registry("dataset", "--data", "datamodules", "i2i_bench.datasets", _base,
                              skip=("forward", "readers", "synthetic"))
register_dataset = DATASETS.register
