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
    # Three test volumes and two seeds: enough units and seeds for a rank distribution.
    assert main(["run", "--model", "identity,unet", "--data", "mri", "--preset", "smoke", "--seeds", "2",
                 "--set", "data.subjects=[2,1,3]", "--no-leaderboard"]) == 0
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
    assert '<table class="leaderboard sortable">' in html and "<td class=\"name\">unet</td>" in html
    assert html.count('src="data:image/png;base64,') == 8  # the figures, embedded, the two ranking ones too
    assert '>rank range</th>' in html and html.count('<td class="rank-range">') == 2
    assert 'alt="Rank probabilities over bootstrap resamples' in html
    assert 'alt="Pairwise significance map' in html
    assert "Unit of analysis: the volume (3 volumes per seed, up to 2 seeds per model" in html
    assert "Kendall's tau" in html and "±" in html.split('<table class="leaderboard sortable">')[1].split("</table>")[0]
    assert "pwned" not in html.split("<title>")[1].split("</title>")[0]  # the hostile script never ran
    assert "&lt;script&gt;document.title" in html  # shown as text in the failed-runs list

    # `#intervals` opens the page with the metric cells as mean [95 % interval]: the page's script ran.
    switched = run_browser(browser, tmp_path / "profile-js", "--dump-dom", url + "#intervals")
    leaderboard_table = switched.stdout.split('<table class="leaderboard sortable">')[1].split("</table>")[0]
    shown = [cell.split("</span>")[0] for cell in leaderboard_table.split('<span class="value">')[1:]]
    assert shown and not any("±" in c for c in shown) and all(" [" in c for c in shown), shown

    # Sorting runs in the browser: by PSNR, descending, the input row stays on top and the models follow
    # their PSNR; ascending reverses the models.
    for order, reverse in (("desc", True), ("asc", False)):
        sorted_dom = run_browser(browser, tmp_path / f"profile-{order}", "--dump-dom",
                                 f"{url}?sort=PSNR&order={order}")
        table = sorted_dom.stdout.split('<table class="leaderboard sortable">')[1].split("</table>")[0]
        assert 'aria-sort="' + ("descending" if reverse else "ascending") + '"' in table
        names = [cell.split("</td>")[0] for cell in table.split('<td class="name">')[1:]]
        rows = [row for row in table.split("<tbody>")[1].split("<tr")[1:] if "data-pinned" not in row]
        models = [float(row.split('data-sort="')[1].split('"')[0]) for row in rows]  # PSNR: the first number
        assert names[:2] == ["input", "target"]  # pinned on top
        assert models == sorted(models, reverse=reverse) and len(models) == 2
