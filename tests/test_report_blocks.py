"""The papers' own evaluations beside the ranking: volume protocols, region ratios and non-headline groups."""
from __future__ import annotations

import json
from pathlib import Path

from benchmark import leaderboard
from benchmark.records import write_csv, write_json
from benchmark.volume_protocols import DESCRIPTIONS


def _record(root: Path, model: str, seed: int, psnr: float, score: float, gain: float) -> None:
    folder = root / "runs" / "nir" / model / "quick" / f"seed{seed}-{model}"
    write_csv(folder / "per_image.csv", [{"id": f"a{i}", "band": "nir_iia", "psnr": psnr, "input_psnr": 20.0}
                                         for i in range(3)]
              + [{"id": f"a{i}@nir_i", "band": "nir_i", "psnr": 1.0, "input_psnr": 1.0} for i in range(3)])
    write_json(folder / "metrics.json", {
        "status": "complete", "dataset": "nir", "model": model, "preset": "quick", "seed": seed,
        "run_id": folder.name, "trainable": True, "test": {"psnr": psnr}, "input": {"psnr": 20.0},
        "headline": {"band": "nir_iia"},
        "by_tag": {"band": {"nir_i": {"test": {"psnr": psnr - 3}, "input": {"psnr": 18.0}, "images": 3},
                            "nir_iia": {"test": {"psnr": psnr}, "input": {"psnr": 20.0}, "images": 3}}},
        "ratios": {"sbr": {"input": 2.0, "prediction": 2.0 * gain, "target": 5.0, "gain": gain}},
        "protocols": {"ulf_enc": {"test": {"score": score}, "input": {"score": 0.5}, "better": {"score": "higher"},
                                  "volumes": 4, "description": "an older wording"},
                      "own": {"test": {"x": 1.0}, "input": {"x": 0.5}, "better": {"x": "higher"}, "volumes": 4,
                              "description": "a protocol of my own"}},
        "efficiency": {"parameters": {"generator": 1}, "train_seconds": 1.0}})


def test_blocks_show_protocols_ratios_and_the_non_headline_group(tmp_path: Path) -> None:
    for seed in (0, 1):
        _record(tmp_path, "unet", seed, 30.0 + seed, 0.8 + 0.1 * seed, 4.0)
        _record(tmp_path, "cgan", seed, 28.0, 0.7, 2.0)
    text = leaderboard.generate(tmp_path)[0].read_text(encoding="utf-8")
    # A known protocol is titled by its current description, an unknown one by its record's.
    assert f"{DESCRIPTIONS['ulf_enc']} (4 test volumes; means over seeds):" in text and "older wording" not in text
    assert "a protocol of my own (4 test volumes; means over seeds):" in text
    assert "| unet | 0.8500 |" in text and "| *input* | 0.5000 |" in text  # means over the two seeds
    assert "Region ratios" in text and "| unet | 2.00 | 8.00 | 5.00 | 4.00 |" in text
    assert "band = nir_i (not in the ranking, which is over band = nir_iia" in text
    assert "| unet | 27.50 |" in text and "| *input* | 18.00 |" in text
    # the ranking itself is over the headline rows only: the NIR-I rows of per_image.csv never enter it
    html = (tmp_path / "leaderboard.html").read_text(encoding="utf-8")
    assert "ULF-EnC challenge (khtohidulislam" in html and "band = nir_i" in html
    assert json.loads((tmp_path / "runs/nir/unet/quick/seed0-unet/metrics.json").read_text())["headline"]
