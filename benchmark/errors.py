"""User-facing errors: raised anywhere, turned into one line and an exit code by the CLI.

Why: a user's mistake (bad option, bad file) must never surface as a Python traceback.
"""
from __future__ import annotations


class BenchError(Exception):
    """Base of all errors the CLI reports as one line."""

    exit_code = 1


class UsageError(BenchError):
    """Bad command-line option or configuration value (exit code 2)."""

    exit_code = 2


class DataError(BenchError):
    """Bad input data: missing, corrupt, mismatched or unsupported files (exit code 1)."""

    exit_code = 1
