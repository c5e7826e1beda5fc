"""Executors: a matrix on two local workers (submitit's LocalExecutor), and a worker killed mid-run whose run
the rerun of the same matrix completes, every record exactly once. The SLURM executor runs against a real
cluster in tests/test_slurm_slow.py."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchmark.cli import main
from benchmark.errors import UsageError
from benchmark.executors.resources import core_slices
from benchmark.executors.slurm import parse_options
from tests.conftest import REPO


def _records(results: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(results.glob("runs/*/*/*/*/metrics.json"))]


def test_local_matrix_two_at_once_writes_four_records_and_one_leaderboard(results_dir, capsys):
    args = ["run", "--model", "identity,unet", "--data", "mri", "--preset", "smoke", "--seeds", "2",
            "--executor", "local", "--jobs", "2"]
    assert main(args) == 0
    out = capsys.readouterr()
    assert "4 run(s), 2 at once" in out.out and "4/4 runs complete" in out.err
    assert out.out.count("[local] worker ") == 2 and out.out.count("[local] started ") == 4
    records = _records(results_dir)
    assert sorted((r["model"], r["seed"], r["status"]) for r in records) == [
        ("identity", 0, "complete"), ("identity", 1, "complete"), ("unet", 0, "complete"), ("unet", 1, "complete")]
    board = results_dir / "LEADERBOARD.md"
    assert "| unet |" in board.read_text() and "| identity |" in board.read_text()
    newest_record = max(p.stat().st_mtime for p in results_dir.glob("runs/*/*/*/*/metrics.json"))
    assert board.stat().st_mtime >= newest_record  # regenerated once, after the last run
    assert main(["status", *args[1:]]) == 0
    assert "4 run(s): 4 complete" in capsys.readouterr().out


def _worker_running(results: Path, model: str) -> int | None:
    """The pid of the local worker that took `model`'s run (its claim in the queue), once it has."""
    for queue_file in results.glob("jobs/*-local/queue.json"):
        queue = json.loads(queue_file.read_text())
        for index, run in enumerate(queue["runs"]):
            claim = Path(queue["claims"]) / str(index)
            if run["model"] == model and claim.is_file() and claim.read_text().strip():
                return int(claim.read_text())
    return None


def test_a_local_worker_killed_mid_run_is_completed_by_the_rerun_once(tmp_path):
    env = {**os.environ, "RESULTS_DIR": str(tmp_path / "results")}
    command = [sys.executable, "-m", "benchmark", "run", "--model", "identity,unet", "--data", "mri",
               "--preset", "smoke", "--set", "trainer.max_epochs=12", "--executor", "local", "--jobs", "2"]
    first = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 240
        while not any((tmp_path / "results").glob("runs/mri/unet/smoke/*/checkpoints/last.ckpt")):
            assert first.poll() is None and time.monotonic() < deadline, first.communicate()
            time.sleep(0.2)
        pid = _worker_running(tmp_path / "results", "unet")
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        _, err = first.communicate(timeout=240)
    finally:
        if first.poll() is None:
            first.kill()
    assert first.returncode == 1 and "1/2 runs complete" in err and "failed: unet on mri seed 0" in err, err
    (killed,) = (tmp_path / "results").glob("runs/mri/unet/smoke/*")
    assert not (killed / "metrics.json").exists() or json.loads((killed / "metrics.json").read_text())[
        "status"] != "complete"
    again = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "already complete: identity on mri seed 0" in again.stdout and "2/2 runs complete" in again.stderr
    records = _records(tmp_path / "results")
    assert sorted(r["model"] for r in records) == ["identity", "unet"]  # every record exactly once
    (unet,) = [r for r in records if r["model"] == "unet"]
    assert unet["status"] == "complete" and unet["resumed"] is True and unet["resumed_from_step"] > 0
    assert unet["run_id"] == killed.name  # the killed run's own folder, continued


def test_cores_are_divided_fairly_and_disjointly():
    assert core_slices(2, [0, 1]) == [[0], [1]]
    assert core_slices(3, list(range(8))) == [[0, 1, 2], [3, 4, 5], [6, 7]]
    assert core_slices(3, [0, 1]) == [[0], [1], [0]]  # more jobs than cores: shared round-robin


def test_slurm_options_are_checked_against_submitit():
    assert parse_options("partition=gpu gpus_per_node=1 timeout_min=30 array_parallelism=16") == {
        "partition": "gpu", "gpus_per_node": 1, "timeout_min": 30, "array_parallelism": 16}
    with pytest.raises(UsageError, match="'gpus' is not a submitit parameter"):
        parse_options("gpus=1")
    with pytest.raises(UsageError, match="expected key=value"):
        parse_options("partition")


def test_bad_executor_options_are_one_line(results_dir, capsys):
    base = ["run", "--model", "identity", "--data", "mri", "--preset", "smoke"]
    assert main([*base, "--executor", "local", "--jobs", "0"]) == 2
    assert main([*base, "--executor", "local", "--slurm", "partition=x"]) == 2
    assert main([*base, "--executor", "cloud"]) == 2
    err = capsys.readouterr().err
    assert "--jobs 0: expected a count of at least 1" in err and "--slurm and --wait belong to --executor slurm" in err
    assert "Traceback" not in err and not list(results_dir.glob("runs/*/*/*/*/metrics.json"))
