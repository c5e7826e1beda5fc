"""The HTML report renders in a real browser (headless Chromium): not blank, the tables in the DOM, hostile
ids shown as text. Slow tier: installs Debian's `chromium` when missing and trains two smoke runs."""
from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from benchmark import leaderboard
from benchmark.cli import main
from benchmark.records import write_json
from tests import system_packages

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
HOSTILE = "<script>document.title='pwned'</script>"


def chromium() -> str:
    """Debian's chromium, installed with apt-get when missing (needs root)."""
    system_packages.ensure(["chromium"], CHROMIUM.exists, "chromium")
    return str(CHROMIUM)


def run_browser(browser: str, profile: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([browser, *FLAGS, f"--user-data-dir={profile}", *args], capture_output=True,
                          text=True, timeout=180, check=False)


def test_report_renders_in_headless_chromium(results_dir: Path, tmp_path: Path) -> None:
    browser = chromium()
    assert main(["run", "--model", "identity,unet", "--data", "mri", "--preset", "smoke", "--no-leaderboard"]) == 0
    run_id = "20260101-000000-seed0-hostile"
    write_json(results_dir / "runs" / "mri" / "evil" / "smoke" / run_id / "metrics.json",
               {"status": "failed", "dataset": "mri", "model": HOSTILE, "preset": "smoke", "seed": 0,
                "run_id": run_id, "reason": f"ValueError: {HOSTILE}"})
    page = leaderboard.generate(results_dir)[2]
    url = page.resolve().as_uri()

    shot = tmp_path / "report.png"
    done = run_browser(browser, tmp_path / "profile-shot", f"--screenshot={shot}", "--window-size=1280,2000", url)
    assert shot.is_file(), done.stderr[-2000:]
    pixels = np.asarray(Image.open(shot).convert("L"), dtype=np.float64)
    assert pixels.shape == (2000, 1280)
    assert pixels.std() > 20 and (pixels < 128).mean() > 0.01  # text, tables and figures, not a blank page

    dom = run_browser(browser, tmp_path / "profile-dom", "--dump-dom", url)
    assert dom.returncode == 0, dom.stderr[-2000:]
    html = dom.stdout
    assert '<table class="leaderboard">' in html and "<td class=\"name\">unet</td>" in html
    assert html.count('src="data:image/png;base64,') == 5  # the figures, embedded
    assert "pwned" not in html.split("<title>")[1].split("</title>")[0]  # the hostile script never ran
    assert "&lt;script&gt;document.title" in html  # shown as text in the failed-runs list
