"""A newcomer's first run: on a fresh clone `make benchmark` leaves `git status` clean (every file it writes
is git-ignored, the committed reference untouched) and prints no warning between its progress lines."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
NOISE = re.compile(r"warn|deprecat|tip:|💡|hint:|available:|litlogger", re.IGNORECASE)


def _git(*args: str, cwd: Path) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_make_benchmark_on_a_fresh_clone_is_quiet_and_leaves_the_checkout_clean(tmp_path: Path) -> None:
    if shutil.which("make") is None or shutil.which("git") is None:
        pytest.skip("make or git is not installed")
    if not (REPO / ".git").exists():
        pytest.skip("not a git checkout")
    clone = tmp_path / "clone"
    _git("clone", "--quiet", "--no-hardlinks", str(REPO), str(clone), cwd=tmp_path)
    env = {k: v for k, v in os.environ.items() if k not in ("RESULTS_DIR", "PYTHONWARNINGS", "I2I_VERBOSE")}
    env["PYTHONPATH"] = str(clone)  # the clone's code, not an editable install elsewhere
    # -o: the install stamp counts as done (this interpreter already has the dependencies).
    done = subprocess.run(["make", "-s", "-o", ".venv/.installed", "benchmark", "MODEL=unet", "DATA=mri",
                           "PRESET=smoke", f"PY={sys.executable}"], cwd=clone, env=env, capture_output=True,
                          text=True, timeout=600, check=False)
    console = (done.stdout + done.stderr).splitlines()
    assert done.returncode == 0, "\n".join(console[-30:])
    assert [line for line in console if NOISE.search(line)] == []
    assert any(line.startswith("epoch 1/1 ") for line in console)
    assert any(line.startswith("unet on mri (smoke, seed 0): PSNR ") for line in console)
    assert (clone / "results" / "LEADERBOARD.md").is_file() and list((clone / "results" / "runs").rglob("metrics.json"))
    assert _git("status", "--porcelain", cwd=clone) == ""
    assert len(console) <= 4, "\n".join(console)  # one line per epoch, the result, the leaderboard's path


def test_every_folder_the_code_writes_under_the_results_root_is_git_ignored() -> None:
    """Found in the source (`results_dir() / "name"`), so a new output folder cannot be forgotten here."""
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("not a git checkout")
    written = {m for path in [*REPO.glob("benchmark/**/*.py"), *REPO.glob("sweeps/**/*.py")]
               for m in re.findall(r'results_dir\(\) / "([^"]+)"', path.read_text(encoding="utf-8"))}
    assert {"runs", "jobs", "realism", "perf"} <= written
    for name in sorted(written):
        done = subprocess.run(["git", "check-ignore", "-q", f"results/{name}/x"], cwd=REPO, check=False)
        assert done.returncode == 0, f"results/{name}/ is written by the code but not git-ignored"
