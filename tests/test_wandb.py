"""`--logger wandb` with the real library, offline: one wandb run per benchmark run, with the per-image table,
the sample images, the configuration and the losses."""
from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from benchmark.cli import main

pytest.importorskip("wandb")


def run_log(folder: Path, expected: list[bytes], timeout: float = 60.0) -> bytes:
    """The offline run log (`run-*.wandb`), once it holds `expected`: wandb's service process writes it
    asynchronously, and `wandb.finish()` can return before the last records reach the file."""
    deadline = time.monotonic() + timeout
    while True:
        binary = next(folder.glob("run-*.wandb")).read_bytes()
        if all(item in binary for item in expected) or time.monotonic() > deadline:
            return binary
        time.sleep(0.2)


def test_two_runs_in_one_process_give_two_offline_wandb_runs(results_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_DIR", str(tmp_path / "wandb"))
    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    assert main(["run", "--model", "identity,unet", "--data", "mri", "--preset", "smoke", "--logger", "wandb",
                 "--no-leaderboard"]) == 0
    folders = sorted(results_dir.glob("runs/mri/*/smoke/*/wandb/offline-run-*"))
    assert len(folders) == 2, folders  # finish() between runs: a matrix never merges into one wandb run
    for folder in folders:
        model, run_id = folder.parts[-5], folder.parts[-3]
        tables = list(folder.glob("files/media/table/test/per_image_*.table.json"))
        assert len(tables) == 1, list(folder.rglob("*"))
        table = json.loads(tables[0].read_text())
        assert {"id", "psnr", "input_psnr", "piqe", "target_piqe"} <= set(table["columns"]) and table["data"]
        assert list(folder.glob("files/media/images/test/samples_*.png"))
        assert "model: " + model in (folder / "files" / run_id / "config.yaml").read_text()  # effective config
        assert (folder / "files" / run_id / "per_image.csv").is_file()
        expected = [f'"model":"{model}"'.encode(), b'"preset":"smoke"']  # config and history travel in the log
        if model == "unet":
            expected += [b"train/l1", b"val/psnr"]  # losses and validation metrics
        binary = run_log(folder, expected)
        assert all(item in binary for item in expected), expected
