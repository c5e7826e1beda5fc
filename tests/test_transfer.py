"""`data transfer`: every trained run of a dataset scored on a real folder beside its synthetic gains."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from benchmark.cli import main


def test_transfer_without_trained_runs_is_a_one_line_error(results_dir: Path, tmp_path: Path, capsys):
    code = main(["data", "transfer", "--data", "fluorescence", "--data-root", str(tmp_path)])
    err = capsys.readouterr().err
    assert code != 0 and "no complete trained quick runs of fluorescence" in err and "Traceback" not in err
    code = main(["data", "transfer", "--data", "fluorescence", "--data-root", str(tmp_path / "absent")])
    assert code != 0 and "--data-root" in capsys.readouterr().err


def test_transfer_scores_a_smoke_run_on_the_real_hr_images(shared_data: Path, results_dir: Path, capsys):
    assert main(["run", "--model", "unet", "--data", "fluorescence", "--preset", "smoke", "--no-leaderboard"]) == 0
    root = shared_data / "fluorescence" / "hr"
    code = main(["data", "transfer", "--data", "fluorescence", "--data-root", str(root), "--preset", "smoke"])
    assert code == 0 and "| unet | 0 |" in capsys.readouterr().out
    out = results_dir / "evaluations" / "transfer-fluorescence"
    report = json.loads((out / "transfer.json").read_text())
    (run,) = report["runs"]
    record = json.loads((Path(run["checkpoint"]).parent.parent / "metrics.json").read_text())
    assert run["synthetic"]["psnr"] == pytest.approx(record["test"]["psnr"] - record["input"]["psnr"])
    rows = pd.read_csv(Path(run["evaluation"]) / "per_image.csv")
    gains = rows["psnr"] - rows["input_psnr"]
    assert len(run["real"]["per_image"]) == len(list(root.iterdir())) == len(rows)
    assert run["real"]["median_psnr"] == pytest.approx(gains.median())
    assert run["real"]["min_psnr"] == pytest.approx(gains.min())
    assert run["real"]["psnr"] == pytest.approx(rows["psnr"].mean() - rows["input_psnr"].mean(), abs=1e-6)
    assert (out / "samples.png").stat().st_size > 1000 and "real median dPSNR" in (out / "transfer.md").read_text()
    # The table's "dPSNR lost on real" cell is the synthetic gain minus the real one.
    header, _, line = (out / "transfer.md").read_text().splitlines()[:3]
    cells = dict(zip([c.strip() for c in header.split("|")], [c.strip() for c in line.split("|")]))
    lost = run["synthetic"]["psnr"] - run["real"]["psnr"]
    assert float(cells["dPSNR lost on real"]) == pytest.approx(lost, abs=0.006)
