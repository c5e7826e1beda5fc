"""Leaderboard v1 from hand-made records: mean ± std over seeds, bold best, input floor, failures."""
from __future__ import annotations

import json

from benchmark import leaderboard
from benchmark.records import atomic_write_text, write_json


def _record(root, model, seed, psnr, ssim, status="complete", run_id=None):
    run_id = run_id or f"20260101-000000-seed{seed}-{model[:3]}"
    record = {"status": status, "dataset": "mri", "model": model, "preset": "quick", "seed": seed,
              "run_id": run_id, "trainable": model != "identity"}
    if status == "complete":
        record.update(test={"psnr": psnr, "ssim": ssim}, input={"psnr": 15.0, "ssim": 0.5},
                      efficiency={"parameters": {"generator": 1234}, "train_seconds": 10.0,
                                  "inference_images_per_s": 100.0})
    else:
        record["reason"] = "FloatingPointError: training diverged"
    write_json(root / "runs" / "mri" / model / "quick" / run_id / "metrics.json", record)


def test_markdown_table_aggregates_seeds_and_marks_best(tmp_path):
    _record(tmp_path, "unet", 0, 30.0, 0.90)
    _record(tmp_path, "unet", 1, 32.0, 0.92)
    _record(tmp_path, "lohiresgan", 0, 29.0, 0.95)
    _record(tmp_path, "cgan", 0, 0, 0, status="failed")
    paths = leaderboard.generate(tmp_path)
    text = paths[0].read_text()
    assert "## mri — preset `quick`" in text and "PSNR ↑" in text and "MAE" not in text.split("## Protocol")[0]
    assert "| — | — | *input* | floor | — | — | 15.00 | 0.5000 |" in text
    assert "**31.00 ± 1.41**" in text  # mean ± sample std over two seeds, best PSNR
    assert "**0.9500**" in text  # best SSIM is the other model
    assert "cgan seed 0" in text and "training diverged" in text
    assert "| cgan |" not in text  # a failed run never appears as numbers
    assert text.index("| unet |") < text.index("| lohiresgan |")  # learned models in rank order (PSNR)
    assert "| 2 | — | lohiresgan |" in text and "| 1 | — | unet |" in text  # no per-image files: no rank range
    csv_text = paths[1].read_text()
    assert csv_text.splitlines()[0].startswith("dataset,preset,model,kind,breakdown,rank,seeds,psnr_mean")
    assert csv_text.splitlines()[0].endswith(",reason,protocol")


def test_latest_run_of_a_seed_wins_and_damaged_files_are_listed_not_ranked(tmp_path):
    _record(tmp_path, "unet", 0, 20.0, 0.5, run_id="20260101-000000-seed0-aaa")
    _record(tmp_path, "unet", 0, 25.0, 0.6, run_id="20260102-000000-seed0-bbb")
    atomic_write_text(tmp_path / "runs" / "mri" / "unet" / "quick" / "broken" / "metrics.json", "{not json")
    text = leaderboard.generate(tmp_path)[0].read_text()
    assert "| 1 | — | unet | learned | 1 | 0 | **25.00** |" in text
    assert "Unreadable run records" in text and "broken/metrics.json`: not valid JSON" in text


def test_empty_results_give_a_helpful_page(tmp_path):
    text = leaderboard.generate(tmp_path)[0].read_text()
    assert "No run records yet" in text
    assert json.loads(json.dumps(text))  # plain text, nothing odd
