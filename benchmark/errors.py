"""User-facing errors: raised anywhere, turned into one line and an exit code by the CLI.

Why: a user's mistake (bad option, bad file) must never surface as a Python traceback.
"""
from __future__ import annotations

import sys
from collections.abc import Callable


class BenchError(Exception):
    """Base of all errors the CLI reports as one line."""

    exit_code = 1


class UsageError(BenchError):
    """Bad command-line option or configuration value (exit code 2)."""

    exit_code = 2


class DataError(BenchError):
    """Bad input data: missing, corrupt, mismatched or unsupported files (exit code 1)."""

    exit_code = 1


class StorageError(BenchError):
    """The file system refused a write (full, read-only, no permission). Like an interruption, it stops the
    run (and a matrix: the next run would meet the same disk) and leaves it resumable."""

    exit_code = 1


def exit_code_of(command: Callable[[], int]) -> int:
    """Run a CLI command: a user-facing error, Ctrl-C or SIGTERM becomes one line on stderr and an exit code."""
    try:
        return command()
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except SystemExit as exc:  # Lightning's SIGTERMException (a pre-empted job): a SystemExit whose code is 0
        if type(exc).__name__ != "SIGTERMException":
            raise
        print("error: terminated (SIGTERM); rerun the same command to resume", file=sys.stderr)
        return 143
