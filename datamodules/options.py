"""Validation of datamodule options: one UsageError line naming ``data.<option>`` and what was expected.

Shared by every datamodule so a bad option reads the same whichever dataset it was given to.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from benchmark.errors import UsageError


def is_int(value: Any) -> bool:
    """A true integer (bools are not counts)."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def choice(option: str, value: Any, valid: Sequence[str]) -> str:
    """The valid spelling of ``value`` (case-insensitive), else an error listing the valid values."""
    for candidate in valid:
        if str(value).lower() == candidate.lower():
            return candidate
    raise UsageError(f"data.{option}={value!r}: expected one of {', '.join(valid)}")


def integer(option: str, value: Any, minimum: int = 1) -> int:
    """An integer >= ``minimum``; digit strings (from the command line) are accepted, fractions are not."""
    number: int | None = None
    digits = isinstance(value, str) and value.strip().lstrip("-").isdigit()
    if is_int(value) or digits or (isinstance(value, float) and value.is_integer()):
        number = int(value)
    if number is None or number < minimum:
        raise UsageError(f"data.{option}={value!r}: expected an integer >= {minimum}")
    return number


def fraction(option: str, value: Any) -> float:
    """A number in [0, 1)."""
    number = value if isinstance(value, (int, float)) and not isinstance(value, bool) else -1.0
    if not 0.0 <= number < 1.0:
        raise UsageError(f"data.{option}={value!r}: expected a fraction in [0, 1)")
    return float(number)


def number_in(option: str, value: Any, low: float, high: float, integer_only: bool = False) -> float:
    """A number (an integer when ``integer_only``) in [low, high]."""
    ok = is_int(value) if integer_only else (isinstance(value, (int, float)) and not isinstance(value, bool))
    if not ok or not (low <= value <= high):
        kind = "an integer" if integer_only else "a number"
        raise UsageError(f"data.{option}={value!r}: expected {kind} in [{low:g}, {high:g}]")
    return float(value)
