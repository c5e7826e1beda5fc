"""Crash and resume with real processes (slow tier): SIGKILL at any point, SIGTERM, `--fresh`, and two
benchmark processes writing records and the leaderboard at the same time."""
from __future__ import annotations

import csv
import json
import signal
import subprocess
from pathlib import Path

import pytest
import torch

from benchmark.perf import resume_time
from benchmark.perf.resume_time import checkpoint_step, finish, wait_for
from tests.conftest import REPO

pytestmark = pytest.mark.slow

# cgan: two optimizers and two schedulers to restore. mri smoke: 6 training slices, batch 2 = 3 batches.
EPOCHS, BATCHES = 6, 3
GAN = ["--model", "cgan", "--data", "mri", "--preset", "smoke", "--no-leaderboard", "--set",
       f"trainer.max_epochs={EPOCHS} trainer.limit_train_batches=20 trainer.checkpoint_every_n_batches=1"]


def start(results: Path, *args: str) -> subprocess.Popen:
    return resume_time.start(results, *args, cwd=REPO)


def folders(results: Path, data: str = "mri", model: str = "cgan") -> list[Path]:
    return sorted(p for p in (results / "runs" / data / model / "smoke").glob("*") if p.is_dir())


def test_sigkill_at_any_point_then_the_same_command_resumes_in_the_same_folder(tmp_path):
    results = tmp_path / "results"
    first = start(results, *GAN)  # killed before its first checkpoint
    wait_for(lambda: any(results.glob("runs/*/*/*/*/config.yaml")), first)
    first.send_signal(signal.SIGKILL)
    assert finish(first)[0] == -signal.SIGKILL
    second = start(results, *GAN)  # killed mid-training, a few batches after a checkpoint
    wait_for(lambda: checkpoint_step(results) >= 2 * BATCHES + 2, second)
    second.send_signal(signal.SIGKILL)
    assert finish(second)[0] == -signal.SIGKILL
    step = checkpoint_step(results)

    code, out = finish(start(results, *GAN))
    assert code == 0, out[-3000:]
    (run,) = folders(results)  # the first folder, reused twice: no second record
    record = json.loads((run / "metrics.json").read_text())
    assert record["status"] == "complete" and record["resumed"] is True
    assert record["resumed_from_step"] == step > 0
    assert record["efficiency"]["epochs"] == EPOCHS
    assert record["efficiency"]["global_steps"] == EPOCHS * BATCHES * 2  # two optimizer steps per batch
    with open(run / "logs" / "metrics.csv") as handle:  # the curves keep the epochs before the kills
        epochs = {int(r["epoch"]) for r in csv.DictReader(handle) if r.get("val/psnr")}
    assert epochs == set(range(EPOCHS))
    assert not list(run.rglob("*.tmp")) and len(list(results.rglob("metrics.json"))) == 1


def test_sigterm_records_an_interrupted_run_that_resumes_and_fresh_starts_over(tmp_path):
    results = tmp_path / "results"
    first = start(results, *GAN)
    wait_for(lambda: checkpoint_step(results) >= 2, first)
    first.send_signal(signal.SIGTERM)  # a pre-empted job: Lightning stops at the next batch
    code, out = finish(first)
    assert code == 143 and "terminated (SIGTERM); rerun the same command to resume" in out, out[-3000:]
    (interrupted,) = folders(results)
    record = json.loads((interrupted / "metrics.json").read_text())
    assert record["status"] == "interrupted" and "SIGTERM" in record["reason"]

    code, out = finish(start(results, *GAN))  # resumes the interrupted one
    assert code == 0, out[-3000:]
    assert len(folders(results)) == 1
    record = json.loads((interrupted / "metrics.json").read_text())
    assert record["status"] == "complete" and record["resumed_from_step"] >= 2

    code, out = finish(start(results, *GAN, "--fresh"))  # starts over: a second attempt, a folder of its own
    assert code == 0, out[-3000:]
    assert len(folders(results)) == 2
    code, out = finish(start(results, *GAN))  # the newest attempt is complete: nothing is trained again
    assert code == 0 and "already complete" in out, out[-3000:]
    assert len(folders(results)) == 2


def test_two_processes_writing_at_once_leave_valid_records_and_leaderboard(tmp_path):
    results = tmp_path / "results"
    unet = ["--model", "unet", "--data", "mri", "--preset", "smoke"]
    first = start(results, *unet)
    wait_for(lambda: any(results.glob("runs/*/*/*/*/config.yaml")), first)
    same = start(results, *unet)  # the same pair while the first trains: its folder is locked, not shared
    other = start(results, "--model", "identity", "--data", "fmd", "--preset", "smoke")
    for process in (first, same, other):
        code, out = finish(process)
        assert code == 0, out[-3000:]
    runs = folders(results, "mri", "unet")
    # the second takes an attempt of its own while the first holds its folder, or, if the first finished
    # before it looked, keeps the first's complete record (never a second record in one folder)
    assert len(runs) in (1, 2)
    records = [json.loads(p.read_text()) for p in results.rglob("metrics.json")]
    assert len(records) == len(runs) + 1 and all(r["status"] == "complete" for r in records)
    with open(results / "leaderboard.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert {(r["dataset"], r["model"]) for r in rows} >= {("mri", "unet"), ("fmd", "identity")}
    board = (results / "LEADERBOARD.md").read_text()
    assert "| unet |" in board and "| identity |" in board
    assert not list(results.rglob("*.tmp"))


def _outcome(results: Path) -> tuple[dict, str]:
    (run,) = folders(results)
    return json.loads((run / "metrics.json").read_text()), (run / "per_image.csv").read_text()


def test_kills_at_four_phases_end_exactly_where_an_uninterrupted_run_does(tmp_path):
    """Killed in setup, mid-epoch, after training (testing) and after the record (before the leaderboard):
    the last rerun's record is bit-identical to an uninterrupted run's and counts its training time."""
    board = [a for a in GAN if a != "--no-leaderboard"]
    code, out = finish(start(tmp_path / "straight", *board))
    assert code == 0, out[-3000:]
    straight, straight_rows = _outcome(tmp_path / "straight")

    results = tmp_path / "killed"
    resume_time.kill_at_four_phases(results, board, EPOCHS)
    if (results / "LEADERBOARD.md").exists():
        pytest.skip("the leaderboard was written before the last kill landed: that phase was not reached")
    record_bytes = next(results.glob("runs/*/*/*/*/metrics.json")).read_bytes()

    code, out = finish(start(results, *board))
    assert code == 0, out[-3000:]
    assert "already complete, not trained again" in out  # the kill after the record: no retraining
    assert next(results.glob("runs/*/*/*/*/metrics.json")).read_bytes() == record_bytes
    assert "| cgan |" in (results / "LEADERBOARD.md").read_text()
    resumed, resumed_rows = _outcome(results)
    assert resumed["resumed"] is True and resumed["test"] == straight["test"] and resumed_rows == straight_rows
    assert resumed["efficiency"]["global_steps"] == straight["efficiency"]["global_steps"] == EPOCHS * BATCHES * 2
    (last,) = results.glob("runs/*/*/*/*/checkpoints/last.ckpt")
    counted = torch.load(last, weights_only=True)["callbacks"]["ExactResume"]["train_seconds"]
    seconds, reference = resumed["efficiency"]["train_seconds"], straight["efficiency"]["train_seconds"]
    assert seconds >= counted > 0  # the processes before the kills are counted
    # Whether the seconds also come within 10 % of the uninterrupted run's is a timing question, measured over
    # repeated pairs by `python -m benchmark.perf.resume_time`: a single pair differs by more from noise alone.
    assert seconds < 2 * reference  # a restart's start-up (imports, data: seconds each) is not counted
