"""The realism statistics (`benchmark.realism`) and the `data realism` command's input checks."""
from __future__ import annotations

import numpy as np
import pytest

from benchmark.cli import main
from benchmark.realism import describe, image_statistics, spectrum_slope


def test_noise_level_and_spectrum_slope_of_known_images():
    rng = np.random.default_rng(0)
    flat = 0.5 + rng.normal(0, 0.02, (128, 128))
    stats = image_statistics(flat)
    assert stats["noise_sigma"] == pytest.approx(0.02, rel=0.1)  # Immerkaer's estimator of white noise
    assert abs(spectrum_slope(flat)) < 0.3  # white noise: a flat spectrum
    # A smooth random field (Gaussian-filtered noise) falls off steeply with frequency.
    from scipy import ndimage

    smooth = ndimage.gaussian_filter(rng.normal(size=(128, 128)), 3)
    assert spectrum_slope(smooth) < -3
    # Inside a mask only the masked pixels count: a dark surround does not lower the intensity statistics.
    framed, mask = np.zeros((128, 128)), np.zeros((128, 128), bool)
    framed[32:96, 32:96], mask[32:96, 32:96] = flat[32:96, 32:96], True
    assert image_statistics(framed)["mean"] < 0.2
    inside = image_statistics(framed, mask)
    assert inside["mean"] == pytest.approx(0.5, abs=0.01) and inside["p05"] > 0.4
    assert inside["noise_sigma"] == pytest.approx(0.02, rel=0.15)
    summary = describe([flat, flat])
    assert summary["images"] == 2 and abs(sum(summary["histogram"]) - 1) < 1e-9
    assert summary["median"]["mean"] == pytest.approx(0.5, abs=0.01)


def test_realism_command_rejects_a_missing_folder(tmp_path, capsys):
    code = main(["data", "realism", "--data", "nir", "--data-root", str(tmp_path / "absent")])
    err = capsys.readouterr().err
    assert code != 0 and "--data-root" in err and "Traceback" not in err


def test_realism_report_of_the_real_nir_pairs(shared_data, tmp_path, capsys):
    import json

    root = shared_data / "nir" / "icg_pairs"
    code = main(["data", "realism", "--data", "nir", "--data-root", str(root), "--out", str(tmp_path),
                 "--set", "data.size=64 data.crop_size=32 data.train_images=2 data.val_images=1 data.test_images=2"])
    assert code == 0 and "spectrum_slope" in capsys.readouterr().out
    report = json.loads((tmp_path / "realism-nir.json").read_text())
    assert report["real"]["source"]["images"] == 3 and report["synthetic"]["target"]["images"] == 4
    assert (tmp_path / "realism-nir.png").stat().st_size > 1000
