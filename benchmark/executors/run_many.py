"""`python -m benchmark.executors.run_many QUEUE.json`: a local worker that runs a matrix's runs in turn, in
this one process, taking each run only if no other worker has taken it.

Why workers rather than a process per run: a process pays the import of torch, Lightning and the models
(seconds) once, as an inline matrix does, instead of once per run. Taking a run is creating its claim file
exclusively (`O_CREAT | O_EXCL`), so N workers share the queue with no coordinator and the faster ones take
more runs. A claim holds the worker's pid (what `status` and tests look for); the records alone say how a
run ended.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from benchmark.executors import run_one


def claim(folder: Path, index: int) -> bool:
    try:
        handle = os.open(folder / str(index), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        return False
    os.write(handle, f"{os.getpid()}\n".encode())
    os.close(handle)
    return True


def main(queue_file: str) -> int:
    queue = json.loads(Path(queue_file).read_text(encoding="utf-8"))
    claims = Path(queue["claims"])
    failed = 0
    for index, run in enumerate(queue["runs"]):
        if not claim(claims, index):
            continue
        print(f"worker {os.getpid()}: {run['label']}", flush=True)
        failed += run_one.main(run["argv"]) != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
