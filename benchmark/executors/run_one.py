"""`python -m benchmark.executors.run_one run --model M --data D --seed S ...`: what a job runs.

The seam between executors and the runner: the arguments of `python -m benchmark run` for one run; the run
is skipped when a complete record of its configuration exists (a job requeued after its run finished, or a
matrix submitted twice, never trains it again), otherwise it is exactly that command.
"""
from __future__ import annotations

import sys

from benchmark.errors import exit_code_of


def main(argv: list[str]) -> int:
    from benchmark.cli import build_parser, requests_from_args
    from benchmark.cli import main as cli_main
    from benchmark.executors.runstate import state
    from benchmark.runner import prepare

    def check() -> int:
        args = build_parser().parse_args(argv)
        if not args.fresh:
            configs = [prepare(r) for r in requests_from_args(args)]
            done = [state(c) for c in configs]
            if done and all(s.status == "complete" for s in done):
                print(f"already complete: {', '.join(str(s.folder) for s in done)}", flush=True)
                return 0
        return -1

    code = exit_code_of(check)
    return code if code != -1 else cli_main(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
