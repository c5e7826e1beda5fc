"""`python -m benchmark evaluate`: a trained checkpoint scored on a real test folder."""
from __future__ import annotations

import csv
import json

from benchmark.cli import main


def test_evaluate_checkpoint_on_real_fmd(shared_data, results_dir, capsys):
    assert main(["run", "--model", "unet", "--data", "fmd", "--preset", "smoke", "--no-leaderboard"]) == 0
    (checkpoint,) = results_dir.glob("runs/fmd/unet/smoke/*/checkpoints/best.ckpt")
    capsys.readouterr()
    assert main(["evaluate", "--checkpoint", str(checkpoint), "--data", "fmd",
                 "--data-root", str(shared_data / "fmd")]) == 0
    out = capsys.readouterr().out
    assert "psnr" in out and "input" in out
    (metrics,) = results_dir.glob("evaluations/fmd/unet/*/metrics.json")
    result = json.loads(metrics.read_text())
    real_pairs = len(list((shared_data / "fmd" / "test_mix" / "raw").glob("*.png")))
    with open(metrics.parent / "per_image.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert result["images"] == len(rows) >= real_pairs
    assert result["data_source"] == str(shared_data / "fmd")


def test_evaluate_bad_checkpoint_is_one_line(tmp_path, capsys, results_dir):
    bogus = tmp_path / "run" / "checkpoints" / "best.ckpt"
    bogus.parent.mkdir(parents=True)
    bogus.write_bytes(b"not a checkpoint")
    assert main(["evaluate", "--checkpoint", str(bogus)]) == 2  # no config.yaml in its run folder
    assert "no config.yaml" in capsys.readouterr().err
    assert main(["run", "--model", "unet", "--data", "fmd", "--preset", "smoke", "--no-leaderboard"]) == 0
    (config,) = results_dir.glob("runs/fmd/unet/smoke/*/config.yaml")
    (bogus.parent.parent / "config.yaml").write_text(config.read_text())
    capsys.readouterr()
    assert main(["evaluate", "--checkpoint", str(bogus)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: --checkpoint") and "not a loadable checkpoint" in err and "\n" not in err


def test_evaluate_scores_every_image_of_a_real_folder(shared_data, results_dir, capsys):
    """A folder given to `evaluate` is a test folder: all of it is scored, not the fifth a run would test."""
    assert main(["run", "--model", "unet", "--data", "fluorescence", "--preset", "smoke",
                 "--no-leaderboard"]) == 0
    (checkpoint,) = results_dir.glob("runs/fluorescence/unet/smoke/*/checkpoints/best.ckpt")
    folder = shared_data / "fluorescence" / "hr"
    images = [p for p in folder.iterdir() if p.suffix.lower() in {".png", ".tif", ".tiff"}]
    assert len(images) >= 3  # enough for the datamodule's own train/val/test split to hold images back
    assert main(["evaluate", "--checkpoint", str(checkpoint), "--data", "fluorescence",
                 "--data-root", str(folder)]) == 0
    (metrics,) = results_dir.glob("evaluations/fluorescence/unet/*/metrics.json")
    assert json.loads(metrics.read_text())["images"] == len(images)
