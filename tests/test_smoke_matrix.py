"""Every registered model x dataset fits and tests under the smoke preset and writes a complete record."""
from __future__ import annotations

import csv
import json

import pytest

from benchmark.cli import main
from datamodules import DATASETS
from models import MODELS

# Datasets without a synthetic default (`needs_root`: paired-folder) have their own end-to-end tests.
PAIRS = [(m, d) for d in DATASETS if not getattr(DATASETS[d], "needs_root", False) for m in MODELS]


@pytest.mark.parametrize("model, data", PAIRS, ids=[f"{m}-{d}" for m, d in PAIRS])
def test_smoke_run_writes_a_complete_record(model, data, results_dir):
    assert main(["run", "--model", model, "--data", data, "--preset", "smoke", "--no-leaderboard"]) == 0
    (metrics_path,) = results_dir.glob(f"runs/{data}/{model}/smoke/*/metrics.json")
    record = json.loads(metrics_path.read_text())
    assert record["status"] == "complete", record.get("reason")
    assert {"dataset", "model", "preset", "seed", "test", "input", "efficiency"} <= set(record)
    assert set(record["test"]) >= {"psnr", "ssim", "nrmse", "rmse", "mae"}
    run = metrics_path.parent
    with open(run / "per_image.csv") as handle:
        rows = list(csv.DictReader(handle))
    headline = record.get("headline") or {}  # NIR: the headline means are over the NIR-IIa rows
    counted = [r for r in rows if all(r.get(tag) == value for tag, value in headline.items())]
    assert len(counted) == record["images"] > 0
    assert {"id", "psnr", "input_psnr"} <= set(rows[0])
    assert len({r["id"] for r in rows}) == len(rows)
    assert (run / "config.yaml").is_file() and (run / "sample.png").is_file()
    assert (run / "environment.json").is_file()


def test_matrix_then_leaderboard(results_dir, capsys):
    assert main(["run", "--model", "identity,unet", "--data", "mri", "--preset", "smoke"]) == 0
    board = (results_dir / "LEADERBOARD.md").read_text()
    assert "| *input* |" in board and "| unet |" in board and "| identity |" in board
