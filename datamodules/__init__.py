"""Datasets: one LightningDataModule per dataset, all yielding the batch format of `datamodules.base`.

`DATASETS` maps the short names used on the command line to the classes.
"""
from __future__ import annotations

from datamodules.base import PairedDataModule
from datamodules.fluorescence import FluorescenceDataModule
from datamodules.fmd import FMDDataModule
from datamodules.mri import MRIDataModule
from datamodules.nir import NIRDataModule

DATASETS: dict[str, type[PairedDataModule]] = {
    "mri": MRIDataModule,
    "fmd": FMDDataModule,
    "fluorescence": FluorescenceDataModule,
    "nir": NIRDataModule,
}
