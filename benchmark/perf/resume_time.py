"""`python -m benchmark.perf.resume_time`: the training seconds a run records after being killed at four
phases and rerun, against the same run never stopped.

Why a benchmark and not a test: on a shared machine one process trains measurably faster or slower than the
next, as much as the bar being checked, so a single pair of runs cannot check it; the medians over
`--repeats` alternated pairs can. The slow tier's kill test (`tests/test_resume_slow.py`) drives the same
kills and checks what is exact (metrics, steps, the seconds carried in the checkpoint). The run is that
test's (cgan on MRI smoke, a checkpoint after every batch, so a kill loses at most one batch), with
`--epochs` long enough that a restart's one-off costs (its first batch and first validation) are small
against the training. Prints one JSON line, also written to `--out`.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from benchmark.checkpoints import read_info

# Reading a checkpoint's step costs milliseconds of CPU: polled every 50 ms it takes a real share of a core
# from the training being timed on a small machine. The test polls that fast (it times nothing); this
# benchmark does not.
POLL_SECONDS = 0.5
BATCHES = 3  # mri smoke: 6 training slices at batch 2; cgan takes two optimizer steps per batch


def run_args(epochs: int) -> list[str]:
    return ["--model", "cgan", "--data", "mri", "--preset", "smoke", "--set",
            f"trainer.max_epochs={epochs} trainer.limit_train_batches=20 trainer.checkpoint_every_n_batches=1"]


def start(results: Path, *args: str, cwd: Path | None = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "benchmark", "run", *args], cwd=cwd, text=True,
                            env={**os.environ, "RESULTS_DIR": str(results)},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def finish(process: subprocess.Popen, timeout: float = 600) -> tuple[int, str]:
    out, _ = process.communicate(timeout=timeout)
    return process.returncode, out


def wait_for(condition: Callable[[], bool], process: subprocess.Popen, timeout: float = 300,
             poll: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if process.poll() is not None:
            raise RuntimeError(f"the run ended (rc {process.returncode}) before the moment to stop it:\n"
                               f"{process.stdout.read()[-3000:]}")
        if time.monotonic() > deadline:
            process.kill()
            raise RuntimeError("timed out waiting for the run")
        time.sleep(poll)


def checkpoint_step(results: Path) -> int:
    found = [read_info(p) for p in results.glob("runs/*/*/*/*/checkpoints/last.ckpt")]
    return max((info.step for info in found if info is not None), default=-1)


def record_of(results: Path) -> dict:
    found = list(results.glob("runs/*/*/*/*/metrics.json"))
    return json.loads(found[0].read_text() or "{}") if found else {}


def kill_at_four_phases(results: Path, args: list[str], epochs: int, poll: float = 0.05) -> None:
    """SIGKILL the run in setup, mid-epoch (half-way, inside an epoch), while testing (training done) and
    after its record (before the leaderboard), each time rerunning the same command; the moments are
    checked every `poll` seconds."""
    final = epochs * BATCHES * 2
    middle = 2 * ((epochs // 2) * BATCHES + 1)  # after the first batch of the middle epoch
    phases = [("setup", lambda: any(results.glob("runs/*/*/*/*/config.yaml"))),
              ("mid-epoch", lambda: checkpoint_step(results) >= middle),
              ("testing", lambda: checkpoint_step(results) >= final),
              ("after the record", lambda: record_of(results).get("status") == "complete")]
    for phase, moment in phases:
        process = start(results, *args)
        wait_for(moment, process, poll=poll)
        process.send_signal(signal.SIGKILL)
        if finish(process)[0] != -signal.SIGKILL:
            raise RuntimeError(f"the run ended by itself before the {phase} kill")


def watched(results: Path, args: list[str]) -> tuple[int, str]:
    """The run to its end, polled as `kill_at_four_phases` polls its runs: reading checkpoints takes CPU
    from the training on a small machine, and both sides of the comparison should pay it alike."""
    process = start(results, *args)
    while process.poll() is None:
        checkpoint_step(results)
        time.sleep(POLL_SECONDS)
    return finish(process)


def train_seconds(results: Path) -> float:
    return float(record_of(results)["efficiency"]["train_seconds"])


def one_pair(epochs: int) -> tuple[float, float]:
    """(uninterrupted, killed four times and rerun) training seconds of the same run."""
    args = run_args(epochs)
    with tempfile.TemporaryDirectory(prefix="perf-resume-") as folder:
        straight, killed = Path(folder) / "straight", Path(folder) / "killed"
        code, out = watched(straight, args)
        if code != 0:
            raise SystemExit(f"error: the uninterrupted run failed: {out[-2000:]}")
        kill_at_four_phases(killed, args, epochs, poll=POLL_SECONDS)
        code, out = watched(killed, args)
        if code != 0:
            raise SystemExit(f"error: the rerun after the kills failed: {out[-2000:]}")
        if record_of(killed)["test"] != record_of(straight)["test"]:
            raise SystemExit("error: the resumed run's test metrics differ from the uninterrupted run's")
        return train_seconds(straight), train_seconds(killed)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmark.perf.resume_time", description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30, help="epochs of the run (3 batches each)")
    parser.add_argument("--repeats", type=int, default=3, help="uninterrupted/killed pairs (medians compared)")
    parser.add_argument("--out", default=None, help="JSON file (default: print only)")
    args = parser.parse_args(argv)
    if args.epochs < 4 or args.repeats < 1:
        raise SystemExit("error: --epochs must be at least 4 and --repeats at least 1")
    load_before = os.getloadavg()[0]
    pairs = [one_pair(args.epochs) for _ in range(args.repeats)]
    straight, killed = [p[0] for p in pairs], [p[1] for p in pairs]
    result = {"bench": "resume_time", "run": " ".join(run_args(args.epochs)), "repeats": args.repeats,
              "cores": len(os.sched_getaffinity(0)), "load_average_1min_before": round(load_before, 2),
              "load_average_1min_after": round(os.getloadavg()[0], 2),
              "uninterrupted_train_seconds": [round(s, 3) for s in straight],
              "killed_and_rerun_train_seconds": [round(s, 3) for s in killed],
              "metrics_identical": True,
              "killed_over_uninterrupted": round(statistics.median(killed) / statistics.median(straight), 4)}
    print(json.dumps(result))
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
