"""Constrained types for constructor annotations, and their plain-words names for error messages.

Models and datamodules say what a parameter accepts in its annotation (``k_max: PositiveInt |
Literal["half", "full"]``, ``val_fraction: UnitFraction``); `benchmark.config` checks every configured value
against it in one place (jsonargparse), so no constructor re-validates a type. The constrained types are
subclasses of int/float, so code that builds a model directly with plain numbers keeps working.

A leaf of the protocol modules: models and datamodules may import it.
"""
from __future__ import annotations

import math
import types
import typing
from typing import Any, Literal, Union

from jsonargparse.typing import (
    ClosedUnitInterval,
    NonNegativeInt,
    PositiveInt,
    restricted_number_type,
)

# jsonargparse's PositiveFloat / NonNegativeFloat accept inf, which trains to NaN and fails only at scoring.
PositiveFloat = restricted_number_type("FinitePositiveFloat", float, [(">", 0), ("<", math.inf)],
                                       docstring="a finite number > 0")
NonNegativeFloat = restricted_number_type("FiniteNonNegativeFloat", float, [(">=", 0), ("<", math.inf)],
                                          docstring="a finite number >= 0")

_BOUNDED: dict[Any, str] = {}


def bounded(name: str, base: type, low: float, high: float | None = None, high_open: bool = False) -> Any:
    """A number type restricted to [low, high] (or [low, high), or >= low when `high` is None)."""
    restrictions = [(">=", low)] + ([] if high is None else [("<" if high_open else "<=", high)])
    kind = "an integer" if base is int else "a number"
    words = f"{kind} >= {low:g}" if high is None else f"{kind} in [{low:g}, {high:g}{')' if high_open else ']'}"
    restricted = restricted_number_type(name, base, restrictions, docstring=words)
    _BOUNDED[restricted] = words
    return restricted


# An image side of the synthetic generators: at least 16 px (below that the scenes have no structure).
ImageSide = bounded("ImageSide", int, 16)
# A fraction of a dataset held out (validation, test).
HoldOutFraction = bounded("HoldOutFraction", float, 0, 1, high_open=True)

__all__ = [
    "ClosedUnitInterval",
    "HoldOutFraction",
    "ImageSide",
    "NonNegativeFloat",
    "NonNegativeInt",
    "PositiveFloat",
    "PositiveInt",
    "bounded",
    "describe",
    "plain",
]

_NAMES: dict[Any, str] = {
    PositiveInt: "an integer > 0", NonNegativeInt: "an integer >= 0", PositiveFloat: "a number > 0",
    NonNegativeFloat: "a number >= 0", ClosedUnitInterval: "a number in [0, 1]", int: "an integer", float: "a number", bool: "true or false",
    str: "a string", type(None): "null", Any: "anything",
}


def describe(annotation: Any) -> str:
    """What an annotation accepts, in words: ``PositiveInt | Literal["half", "full"]`` reads
    "an integer > 0 or one of 'half', 'full'"."""
    if annotation in _NAMES:
        return _NAMES[annotation]
    if annotation in _BOUNDED:
        return _BOUNDED[annotation]
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in args)
    if origin in (Union, types.UnionType):
        return " or ".join(describe(a) for a in args)
    if origin is tuple and args:
        if len(args) == 2 and args[1] is Ellipsis:
            return f"a list of {_plural(describe(args[0]))}"
        return f"a list of {len(args)} values ({', '.join(describe(a) for a in args)})"
    if origin in (list, typing.Sequence, __import__("collections.abc").abc.Sequence) and args:
        return f"a list of {_plural(describe(args[0]))}"
    return getattr(annotation, "__name__", str(annotation))


def _plural(text: str) -> str:
    return text.replace("an integer", "integers").replace("a number", "numbers").replace("a string", "strings")


def plain(value: Any) -> Any:
    """A parsed value as plain Python data (constrained ints back to int, tuples to lists), fit for YAML."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value
