"""Search spaces: one YAML file per model under `sweeps/spaces/`, so a researcher can read and edit them.

A space file holds `params` (what TPE/NSGA-II/random sample) and optionally `grid` (a controlled
experiment: named variants x seeds). Each parameter is one line:

    lr:      {float: [1.0e-5, 1.0e-2], log: true}        # model.lr, float (log-uniform)
    depth:   {int: [3, 8], cap: log2_crop}                # int, at most log2 of the training crop
    norm:    {choices: [batch, instance]}                 # categorical
    k_max:   {crop_fraction: ["1px", "1/8", "1/2", full]} # a fraction of the training crop (FI-GAN's k_max)
    gamma:   {float: [1.0e-4, 1.0e-1], log: true, zero_allowed: true}   # also samples gamma_on: off = 0
    batch:   {choices: [4, 8], section: data, key: batch_size}          # another section or key

Why fractions for k_max: the TG loss's reach only means something relative to the crop it is computed on,
so "1/2" is the paper's N/2 whatever the crop; it is handed to the model as its own value (1, an int,
"half" or "full"). Write floats with a dot and a signed exponent (1.0e-5): YAML reads 1e-5 as a string.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import yaml

from benchmark.config import SECTIONS, parameters
from benchmark.errors import UsageError

SPACE_DIR = Path(__file__).parent / "spaces"
KINDS = ("float", "int", "choices", "crop_fraction")
CAPS = ("log2_crop",)


def k_max_value(label: str, crop: int) -> int | str:
    """The model's k_max (`models.losses.total_gradient.KMax`) for a fraction label of a crop of `crop`
    pixels ("1px", "1/8", ..., "full"): a lag count, "half" or "full"."""
    label = str(label).strip()
    if label == "1px":
        return 1
    if label == "full":
        return "full"
    try:
        fraction = Fraction(label)
    except (ValueError, ZeroDivisionError):
        raise UsageError(f"k_max fraction {label!r}: expected 1px, full or a fraction like 1/4") from None
    if fraction == Fraction(1, 2):
        return "half"  # symbolic: the paper's N/2 stays N/2 if best.yaml is run with another crop
    if not 0 < fraction < 1:
        raise UsageError(f"k_max fraction {label!r} must lie between 0 and 1")
    return max(1, min(crop - 1, int(crop * fraction)))


def fraction_order(label: str) -> float:
    """Sort key of a crop-fraction label (1px first, full last)."""
    return {"1px": 0.0, "full": 1.0}.get(str(label), float(Fraction(str(label))) if "/" in str(label) else 0.5)


@dataclass(frozen=True)
class Param:
    """One sampled setting: its distribution and where its value goes in the configuration."""

    name: str
    kind: str
    low: float | None = None
    high: float | None = None
    log: bool = False
    choices: tuple[Any, ...] = ()
    zero_allowed: bool = False
    section: str = "model"
    key: str = ""
    cap: str | None = None

    @property
    def target(self) -> tuple[str, str]:
        return self.section, self.key or self.name

    @classmethod
    def parse(cls, name: str, raw: Any) -> Param:
        if not isinstance(raw, dict):
            raise UsageError(f"search space: {name}: expected a mapping like {{float: [low, high]}}")
        kinds = [k for k in KINDS if k in raw]
        unknown = set(raw) - set(KINDS) - {"log", "zero_allowed", "section", "key", "cap"}
        if len(kinds) != 1 or unknown:
            raise UsageError(f"search space: {name}: give exactly one of {', '.join(KINDS)}"
                             + (f"; unknown keys {', '.join(sorted(unknown))}" if unknown else ""))
        kind, value = kinds[0], raw[kinds[0]]
        section = str(raw.get("section", "model"))
        if section not in SECTIONS:
            raise UsageError(f"search space: {name}: section {section!r} is not one of {', '.join(SECTIONS)}")
        cap = raw.get("cap")
        if cap is not None and cap not in CAPS:
            raise UsageError(f"search space: {name}: cap {cap!r} is not one of {', '.join(CAPS)}")
        common = {"name": name, "kind": kind, "log": bool(raw.get("log", False)), "section": section,
                  "key": str(raw.get("key", name)), "zero_allowed": bool(raw.get("zero_allowed", False)),
                  "cap": cap}
        if kind in ("float", "int"):
            try:
                low, high = (float(v) for v in value)
            except (TypeError, ValueError):
                raise UsageError(f"search space: {name}: {kind} needs [low, high] numbers, got {value!r}") from None
            if not low < high or (common["log"] and low <= 0):
                raise UsageError(f"search space: {name}: need low < high (and low > 0 when log), got {value!r}")
            return cls(low=low, high=high, **common)
        if not isinstance(value, list) or not value:
            raise UsageError(f"search space: {name}: {kind} needs a non-empty list")
        if kind == "crop_fraction":
            for label in value:
                k_max_value(str(label), 64)  # validates the label
            value = [str(v) for v in value]
        return cls(choices=tuple(value), **common)

    def to_dict(self) -> dict[str, Any]:
        raw: dict[str, Any] = {self.kind: [self.low, self.high] if self.kind in ("float", "int") else list(self.choices)}
        for key, default in (("log", False), ("zero_allowed", False), ("section", "model"), ("cap", None)):
            if getattr(self, key) != default:
                raw[key] = getattr(self, key)
        if self.key != self.name:
            raw["key"] = self.key
        return raw

    def suggest(self, trial: Any, crop: int | None) -> Any:
        """Sample (or, for an enqueued or retried trial, read back) this parameter; the configuration value."""
        if self.zero_allowed and not trial.suggest_categorical(f"{self.name}_on", [True, False]):
            return 0.0
        if self.kind == "float":
            return float(trial.suggest_float(self.name, self.low, self.high, log=self.log))
        if self.kind == "int":
            high = int(self.high)  # type: ignore[arg-type]
            if self.cap == "log2_crop":
                high = min(high, int(math.log2(need_crop(crop, self.name))))
            return int(trial.suggest_int(self.name, int(self.low), max(int(self.low), high), log=self.log))  # type: ignore[arg-type]
        label = trial.suggest_categorical(self.name, list(self.choices))
        if self.kind == "crop_fraction":
            return k_max_value(label, need_crop(crop, self.name))
        return label


def need_crop(crop: int | None, name: str) -> int:
    if not crop:
        raise UsageError(f"search space: {name} depends on the training crop; set data.crop_size (or data.size)")
    return crop


@dataclass
class Grid:
    """A controlled experiment: every variant (fixed model settings) with every seed, no sampling."""

    variants: dict[str, dict[str, Any]]
    seeds: int = 3

    @classmethod
    def parse(cls, raw: Any) -> Grid:
        variants = raw.get("variants") if isinstance(raw, dict) else None
        if not isinstance(variants, dict) or not variants or not all(isinstance(v, dict) for v in variants.values()):
            raise UsageError("search space: grid needs variants: {label: {model key: value, ...}}")
        return cls(variants={str(k): dict(v) for k, v in variants.items()}, seeds=int(raw.get("seeds", 3)))

    def search_space(self, seeds: int | None = None) -> dict[str, list[Any]]:
        """GridSampler's space: the variant labels x the seeds."""
        return {"variant": list(self.variants), "seed": list(range(seeds or self.seeds))}

    def suggest(self, trial: Any, seeds: int | None = None) -> tuple[dict[str, dict[str, Any]], int]:
        space = self.search_space(seeds)
        variant = trial.suggest_categorical("variant", space["variant"])
        seed = int(trial.suggest_categorical("seed", space["seed"]))
        return {"model": dict(self.variants[variant])}, seed


@dataclass
class SearchSpace:
    model: str
    params: list[Param] = field(default_factory=list)
    grid: Grid | None = None
    source: str = ""

    @classmethod
    def from_dict(cls, model: str, raw: dict[str, Any], source: str = "") -> SearchSpace:
        params = raw.get("params") or {}
        if not isinstance(params, dict):
            raise UsageError(f"search space {source or model}: params must be a mapping")
        grid = Grid.parse(raw["grid"]) if raw.get("grid") else None
        return cls(model, [Param.parse(str(k), v) for k, v in params.items()], grid, source)

    def to_dict(self) -> dict[str, Any]:
        raw: dict[str, Any] = {"params": {p.name: p.to_dict() for p in self.params}}
        if self.grid:
            raw["grid"] = {"seeds": self.grid.seeds, "variants": self.grid.variants}
        return raw

    def names(self) -> list[str]:
        return [p.name for p in self.params]

    def pinned(self, fixed: dict[str, dict[str, Any]]) -> SearchSpace:
        """Without the parameters the user fixed with --set: a pinned setting is never sampled."""
        keep = [p for p in self.params if p.target[1] not in (fixed.get(p.target[0]) or {})]
        return SearchSpace(self.model, keep, self.grid, self.source)

    def check(self, model_cls: type, data_cls: type) -> None:
        """Every target a real constructor argument, before any trial runs."""
        known = {"model": parameters(model_cls), "data": parameters(data_cls)}
        targets = [p.target for p in self.params]
        if self.grid:
            targets += [("model", key) for v in self.grid.variants.values() for key in v]
        for section, key in targets:
            if section in known and key not in known[section]:
                raise UsageError(f"search space {self.source or self.model}: {section}.{key} is not an option "
                                 f"of {self.model}")

    def suggest(self, trial: Any, crop: int | None) -> dict[str, dict[str, Any]]:
        sections: dict[str, dict[str, Any]] = {}
        for param in self.params:
            section, key = param.target
            sections.setdefault(section, {})[key] = param.suggest(trial, crop)
        return sections


def available() -> list[str]:
    return sorted(p.stem for p in SPACE_DIR.glob("*.yaml"))


def load_space(model: str, path: str | None = None) -> SearchSpace:
    """The space of `model`: `path` if given, else `sweeps/spaces/<model>.yaml`."""
    file = Path(path) if path else SPACE_DIR / f"{model}.yaml"
    if not file.is_file():
        if path:
            raise UsageError(f"--space {path} does not exist")
        raise UsageError(f"no search space for model {model!r}: write sweeps/spaces/{model}.yaml or pass "
                         f"--space FILE (spaces exist for {', '.join(available())})")
    try:
        raw = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise UsageError(f"search space {file} is not valid YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(raw, dict):
        raise UsageError(f"search space {file} must be a mapping with params (and optionally grid)")
    return SearchSpace.from_dict(model, raw, str(file))
