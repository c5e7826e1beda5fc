"""Shared fixtures: the real imaging samples in ../shared/data (skip cleanly when absent)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path:
    """Where the real samples live: $I2I_SHARED_DATA, else ../shared/data beside the checkout."""
    env = os.environ.get("I2I_SHARED_DATA")
    return Path(env) if env else REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    path = shared_data_dir()
    if not path.is_dir():
        pytest.skip(f"real samples not found at {path}")
    return path


@pytest.fixture()
def results_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private RESULTS_DIR so tests never touch the repository's results/."""
    out = tmp_path / "results"
    monkeypatch.setenv("RESULTS_DIR", str(out))
    return out


def configured_datamodule(dataset: str, root: str | None = None, **options):
    """A datamodule built the way every run builds it: options validated against the constructor's types
    (`benchmark.config`), then the constructor (which checks what a type cannot say)."""
    from benchmark.config import build_config
    from datamodules import DATASETS
    from models import MODELS

    config = build_config("identity", dataset, "quick", MODELS["identity"], DATASETS[dataset],
                          values={"data": options})
    return DATASETS[dataset](root=root, seed=0, **config["data"])
