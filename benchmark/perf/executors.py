"""`python -m benchmark.perf.executors`: wall time of one matrix inline against `--executor local --jobs N`.

Each measurement is the whole `python -m benchmark run` command (start-up, every run, the leaderboard) in a
fresh results folder, so what a user waits for is what is compared. The two executors alternate for
`--repeats` rounds and the medians are compared; the machine should be otherwise idle, since other load
takes cores from both alike only on average. Prints one JSON line, also written to `--out`.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MATRIX = ["--model", "identity,unet", "--data", "mri", "--preset", "smoke", "--seeds", "2"]


def timed_run(executor: list[str], matrix: list[str]) -> float:
    with tempfile.TemporaryDirectory(prefix="perf-executors-") as results:
        env = {**os.environ, "RESULTS_DIR": results}
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "benchmark", "run", *matrix, *executor], env=env,
                              capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - start
        if done.returncode != 0:
            raise SystemExit(f"error: {' '.join(executor) or 'inline'} failed: {done.stderr[-2000:]}")
        records = list(Path(results).glob("runs/*/*/*/*/metrics.json"))
        if not records:
            raise SystemExit("error: the matrix wrote no records")
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmark.perf.executors", description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=1, help="inline/local rounds (medians compared)")
    parser.add_argument("--matrix", default=" ".join(MATRIX), help="the `run` options naming the matrix")
    parser.add_argument("--out", default=None, help="JSON file (default: print only)")
    args = parser.parse_args(argv)
    matrix = args.matrix.split()
    inline, local, load_before = [], [], os.getloadavg()[0]
    for _ in range(args.repeats):
        inline.append(timed_run([], matrix))
        local.append(timed_run(["--executor", "local", "--jobs", str(args.jobs)], matrix))
    result = {"bench": "executors", "matrix": args.matrix, "jobs": args.jobs, "cores": len(os.sched_getaffinity(0)),
              "load_average_1min_before": round(load_before, 2),
              "load_average_1min_after": round(os.getloadavg()[0], 2), "inline_seconds": [round(s, 2) for s in inline],
              "local_seconds": [round(s, 2) for s in local],
              "local_over_inline": round(statistics.median(local) / statistics.median(inline), 4)}
    print(json.dumps(result))
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
