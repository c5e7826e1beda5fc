"""`--logger wandb` with the real library, offline: one wandb run per benchmark run, with the per-image table,
the sample images, the configuration and the losses."""
from __future__ import annotations

import json

import pytest

from benchmark.cli import main

pytest.importorskip("wandb")


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
        binary = next(folder.glob("run-*.wandb")).read_bytes()  # config and history travel in the run log
        assert f'"model":"{model}"'.encode() in binary and b'"preset":"smoke"' in binary
        if model == "unet":
            assert b"train/l1" in binary and b"val/psnr" in binary  # losses and validation metrics
