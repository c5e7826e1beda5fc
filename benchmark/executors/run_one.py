"""`python -m benchmark.executors.run_one run --model M --data D --seed S ...`: what a job runs.

The seam between executors and the runner: exactly the arguments of `python -m benchmark run` for one run.
A job requeued after its run finished, or a matrix submitted twice, never trains a run again: the runner
keeps a complete record of the same configuration as it is (`benchmark.resume`).
"""
from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    from benchmark.cli import main as cli_main

    return cli_main(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
