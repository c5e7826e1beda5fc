"""Configuration: defaults in code, presets as YAML, a config file, then `--set section.key=value`.

The effective configuration is a dict with four sections:
    model   : keyword arguments of the model class (constructor defaults are the published settings)
    data    : keyword arguments of the datamodule class
    trainer : the few Trainer settings presets may change (TRAINER_KEYS)
    run     : what was asked on the command line (model, data, preset, seed, ...), filled by the runner

A preset file has top-level `model`, `data`, `trainer` sections, plus `datasets: {<name>: {...}}`,
`models: {<name>: {...}}` and `pairs: {<model>@<data>: {...}}` holding the same sections; they are merged in
that order, so the most specific wins. Every key is checked against the class signature, and every value
against the default's type, before anything runs.
"""
from __future__ import annotations

import copy
import inspect
import re
from pathlib import Path
from typing import Any

import yaml

from benchmark.errors import UsageError

PRESET_DIR = Path(__file__).parent / "presets"
PRESETS = ("smoke", "quick", "paper")
SECTIONS = ("model", "data", "trainer")
TRAINER_KEYS: dict[str, type | tuple[type, ...]] = {
    "max_epochs": int,
    "limit_train_batches": (int, float),
    "limit_val_batches": (int, float),
    "check_val_every_n_epoch": int,
    "precision": (str, int, type(None)),
    "gradient_clip_val": (float, int, type(None)),
    "log_every_n_steps": int,
    "checkpoint_every_n_batches": int,
    "max_nonfinite_steps": int,
}
# Trainer-section settings the runner applies itself (not Lightning Trainer arguments), each >= 0:
# last.ckpt every n training batches (0: at epoch ends only), and the non-finite losses a run survives.
RUNNER_KEYS = ("checkpoint_every_n_batches", "max_nonfinite_steps")
SCIENTIFIC = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)[eE][+-]?\d+$")
# Constructor arguments the runner supplies from the datamodule / command line, never from configs.
RESERVED = {"model": {"in_channels", "out_channels", "image_size", "scale"}, "data": {"root", "seed"}}


def merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """Recursive dict merge (update wins); returns a new dict."""
    out = copy.deepcopy(base)
    for key, value in (update or {}).items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def load_yaml(path: Path, what: str) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as handle:
            loaded = yaml.safe_load(handle) or {}
    except FileNotFoundError:
        raise UsageError(f"{what} {path} does not exist") from None
    except yaml.YAMLError as exc:
        raise UsageError(f"{what} {path} is not valid YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(loaded, dict):
        raise UsageError(f"{what} {path} must hold a mapping of sections, got {type(loaded).__name__}")
    return scientific_numbers(loaded)


def preset_layers(preset: str, model: str, data: str) -> list[dict[str, Any]]:
    """The sections of a preset that apply to one model x dataset pair, least specific first."""
    if preset not in PRESETS:
        raise UsageError(f"--preset {preset!r} is not one of {', '.join(PRESETS)}")
    raw = load_yaml(PRESET_DIR / f"{preset}.yaml", "preset")
    layers = [{s: raw.get(s, {}) for s in SECTIONS}]
    layers.append(raw.get("datasets", {}).get(data, {}))
    layers.append(raw.get("models", {}).get(model, {}))
    layers.append(raw.get("pairs", {}).get(f"{model}@{data}", {}))
    return layers


def parameters(cls: type) -> dict[str, inspect.Parameter]:
    """Keyword parameters of a class's constructor, following **kwargs up the MRO."""
    params: dict[str, inspect.Parameter] = {}
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        sig = inspect.signature(init)
        for name, p in sig.parameters.items():
            if name != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL):
                params.setdefault(name, p)
        if not any(p.kind == p.VAR_KEYWORD for p in sig.parameters.values()):
            break
    return params


def parse_overrides(items: list[str]) -> dict[str, Any]:
    """`section.key=value` strings to a nested dict; values parsed as YAML scalars (typed)."""
    out: dict[str, Any] = {}
    for item in items or []:
        key, sep, raw = item.partition("=")
        section, dot, name = key.strip().partition(".")
        if not sep or not dot or not name:
            raise UsageError(f"--set {item!r}: expected section.key=value with section one of {', '.join(SECTIONS)}")
        if section not in SECTIONS:
            raise UsageError(f"--set {item!r}: unknown section {section!r}; valid: {', '.join(SECTIONS)}")
        out.setdefault(section, {})[name] = parse_scalar(raw)
    return out


def scientific_numbers(value: Any) -> Any:
    """Numbers YAML 1.1 leaves as strings (`1e-5`, `2E3`) become floats, recursively."""
    if isinstance(value, dict):
        return {k: scientific_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [scientific_numbers(v) for v in value]
    if isinstance(value, str) and SCIENTIFIC.match(value.strip()):
        return float(value)
    return value


def parse_scalar(raw: str) -> Any:
    """A YAML scalar (typed: int, float, bool, null, str, list)."""
    try:
        return scientific_numbers(yaml.safe_load(raw) if raw.strip() else None)
    except yaml.YAMLError:
        return raw


def _type_ok(value: Any, expected: type | tuple[type, ...]) -> bool:
    if value is None:
        return True
    expected = expected if isinstance(expected, tuple) else (expected,)
    if bool in expected:
        return isinstance(value, bool)
    if isinstance(value, bool):
        return False
    if float in expected and isinstance(value, int):
        return True
    return isinstance(value, expected)


def _expected_type(param: inspect.Parameter) -> tuple[type, ...] | None:
    """The type a value must have: from the default (None default: anything goes)."""
    default = param.default
    if default is inspect.Parameter.empty or default is None:
        return None
    if isinstance(default, bool):
        return (bool,)
    if isinstance(default, (int, float)):
        return (int, float) if isinstance(default, float) else (int,)
    if isinstance(default, str):
        return (str,)
    if isinstance(default, (tuple, list)):
        return (list, tuple)
    return None


def validate(config: dict[str, Any], model_cls: type, data_cls: type, model: str, data: str) -> None:
    """Every key known, every value of the right type; one line naming the culprit otherwise."""
    for section, cls, name in (("model", model_cls, model), ("data", data_cls, data)):
        params = {k: v for k, v in parameters(cls).items() if k not in RESERVED[section]}
        for key, value in config.get(section, {}).items():
            if key not in params:
                valid = ", ".join(sorted(params)) or "none"
                raise UsageError(f"{section}.{key}: unknown option for {section} {name!r} (valid: {valid})")
            expected = _expected_type(params[key])
            if expected and not _type_ok(value, expected):
                names = " or ".join(t.__name__ for t in expected)
                raise UsageError(f"{section}.{key}={value!r}: expected {names}")
    for key, value in config.get("trainer", {}).items():
        if key not in TRAINER_KEYS:
            raise UsageError(f"trainer.{key}: unknown option (valid: {', '.join(TRAINER_KEYS)})")
        expected = TRAINER_KEYS[key]
        if not _type_ok(value, expected):
            types = expected if isinstance(expected, tuple) else (expected,)
            names = " or ".join(t.__name__ for t in types)
            raise UsageError(f"trainer.{key}={value!r}: expected {names.replace('NoneType', 'null')}")
        if key in RUNNER_KEYS and value is not None and value < 0:
            raise UsageError(f"trainer.{key}={value!r}: expected an integer >= 0")


def build_config(model: str, data: str, preset: str, model_cls: type, data_cls: type,
                 overrides: list[str] | None = None, config_file: str | None = None) -> dict[str, Any]:
    """The effective configuration of one run (without the `run` section)."""
    config: dict[str, Any] = {s: {} for s in SECTIONS}
    for layer in preset_layers(preset, model, data):
        config = merge(config, {s: layer.get(s, {}) for s in SECTIONS})
    if config_file:
        loaded = load_yaml(Path(config_file), "config file")
        config = merge(config, {s: loaded.get(s, {}) for s in SECTIONS})
    config = merge(config, parse_overrides(overrides or []))
    validate(config, model_cls, data_cls, model, data)
    return config
