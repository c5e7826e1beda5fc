"""Configuration: defaults in code, presets as YAML, a config file, then `--set section.key=value`.

The configured sections are
    model   : keyword arguments of the model class (constructor defaults are the published settings)
    data    : keyword arguments of the datamodule class
    trainer : the few Trainer settings presets may change (`TrainerSettings`)
and `build_config` returns them *complete*: every constructor argument with its effective value, the code
defaults included, so a saved configuration repeats a run even after the defaults change.

A preset file has top-level `model`, `data`, `trainer` sections, plus `datasets: {<name>: {...}}`,
`models: {<name>: {...}}` and `pairs: {<model>@<data>: {...}}` holding the same sections; they are merged in
that order, so the most specific wins. Every key is checked against the class signature, and every value
against the constructor's type annotation (jsonargparse, the parser LightningCLI builds on), in this one
place, before anything runs.
"""
from __future__ import annotations

import copy
import functools
import inspect
import json
import re
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from jsonargparse import ArgumentError, ArgumentParser

from benchmark.errors import UsageError
from benchmark.option_types import (
    ClosedUnitInterval,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveInt,
    describe,
    plain,
)

PRESET_DIR = Path(__file__).parent / "presets"
PRESETS = ("smoke", "quick", "paper")
SECTIONS = ("model", "data", "trainer")
# Lightning's precision settings (lightning.pytorch.Trainer, `precision`); null: bf16-mixed on a GPU that
# supports it, else 32-true (`benchmark.trainer.default_precision`), resolved when a run starts.
Precision = Literal["64-true", "32-true", "16-mixed", "bf16-mixed", "16-true", "bf16-true"]
# Checkpoint cadence when a configuration does not say (`benchmark.checkpoints.LastCheckpoint`).
DEFAULT_EVERY_N_BATCHES = 500


@dataclass
class TrainerSettings:
    """The Trainer settings a preset or a user may change; typed like every constructor.

    `checkpoint_every_n_batches` (last.ckpt every n training batches, 0: at epoch ends only) and
    `max_nonfinite_steps` (non-finite losses a run survives) are applied by the runner, not Lightning.
    """

    max_epochs: PositiveInt = 10
    limit_train_batches: ClosedUnitInterval | PositiveInt = 1.0
    limit_val_batches: ClosedUnitInterval | PositiveInt = 1.0
    check_val_every_n_epoch: PositiveInt = 1
    precision: Precision | None = None
    gradient_clip_val: NonNegativeFloat | None = None
    log_every_n_steps: PositiveInt = 50
    checkpoint_every_n_batches: NonNegativeInt = DEFAULT_EVERY_N_BATCHES
    max_nonfinite_steps: NonNegativeInt = 10


TRAINER_KEYS = tuple(TrainerSettings.__dataclass_fields__)
RUNNER_KEYS = ("checkpoint_every_n_batches", "max_nonfinite_steps")
SCIENTIFIC = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)[eE][+-]?\d+$")
# Constructor arguments the runner supplies from the datamodule / command line, never from configs.
RESERVED = {"model": {"in_channels", "out_channels", "image_size", "scale"}, "data": {"root", "seed"}}
# Top-level sections a config file may hold: the configured ones, plus what a run's saved config.yaml adds
# (`run`: what was run; `execution`: how, not part of the run's identity; `derived`: what the runner set from
# the dataset, for the record).
FILE_SECTIONS = ("run", *SECTIONS, "execution", "derived")


def merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """Recursive dict merge (update wins); returns a new dict."""
    out = copy.deepcopy(base)
    for key, value in (update or {}).items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


class UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing a key given twice in one mapping (PyYAML keeps the last silently, so a
    file saying `lr:` twice would run with a value its reader may not see)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, typing.Hashable):
                continue  # the base class reports an unhashable key
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    problem=f"duplicate key {key!r} (line {key_node.start_mark.line + 1})",
                    problem_mark=key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def safe_load_unique(stream: Any) -> Any:
    loader = UniqueKeyLoader(stream)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


def load_yaml(path: Path, what: str, sections: tuple[str, ...] | None = None) -> dict[str, Any]:
    """A YAML mapping; with `sections`, every top-level key must be one of them (a misspelled `modle:` is
    an error naming it, not silently dropped) and each section a mapping."""
    try:
        with open(path, encoding="utf-8") as handle:
            loaded = safe_load_unique(handle) or {}
    except FileNotFoundError:
        raise UsageError(f"{what} {path} does not exist") from None
    except IsADirectoryError:
        raise UsageError(f"{what} {path} is a folder, expected a YAML file") from None
    except UnicodeDecodeError:
        raise UsageError(f"{what} {path} is not UTF-8 text (a YAML file was expected)") from None
    except yaml.YAMLError as exc:
        raise UsageError(f"{what} {path} is not valid YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(loaded, dict):
        raise UsageError(f"{what} {path} must hold a mapping of sections, got {type(loaded).__name__}")
    if sections is not None:
        for key, value in loaded.items():
            if key not in sections:
                raise UsageError(f"{what} {path}: unknown section {key!r} (valid: {', '.join(sections)})")
            if not isinstance(value, dict):
                raise UsageError(f"{what} {path}: section {key!r} must be a mapping, got {type(value).__name__}")
    return scientific_numbers(loaded)


def preset_layers(preset: str, model: str, data: str, model_cls: type | None = None,
                  data_cls: type | None = None) -> list[dict[str, Any]]:
    """The sections of a preset that apply to one model x dataset pair, least specific first: the preset
    file's global sections, the dataset's and the model's own entries for the preset (class attributes
    `presets`; a model without one gets `shrunk`), then the file's `pairs: {<model>@<data>: ...}` entry."""
    if preset not in PRESETS:
        raise UsageError(f"--preset {preset!r} is not one of {', '.join(PRESETS)}")
    raw = load_yaml(PRESET_DIR / f"{preset}.yaml", "preset")
    layers = [{s: raw.get(s, {}) for s in SECTIONS}]
    layers.append(getattr(data_cls, "presets", {}).get(preset, {}) if data_cls else {})
    if model_cls is not None:
        own = getattr(model_cls, "presets", {})
        layers.append(own[preset] if preset in own else shrunk(preset, model_cls)[0])
    else:
        layers.append({})
    layers.append(raw.get("pairs", {}).get(f"{model}@{data}", {}))
    return layers


# Generic shrinking for a model that brings no entry for a preset: widths and depths by the zoo's names.
SHRINK: dict[str, dict[str, int]] = {
    "smoke": {"ngf": 8, "ndf": 8, "channels": 8, "growth": 8, "num_blocks": 2, "layers_per_block": 2,
              "d_layers": 2, "d_dense": 16},
    "quick": {"ngf": 32, "ndf": 32, "channels": 32, "growth": 16, "num_blocks": 6, "layers_per_block": 3},
}


def shrunk(preset: str, model_cls: type) -> tuple[dict[str, Any], str | None]:
    """The layer generic rules give a model without a `presets` entry for `preset`, and the note saying so
    (None when the model has its own entry). Only integer parameters with the zoo's width/depth names
    shrink, never grow; the paper preset keeps the constructor's (published) defaults."""
    if preset in getattr(model_cls, "presets", {}):
        return {}, None
    changed = {}
    for name, param in parameters(model_cls).items():
        limit = SHRINK.get(preset, {}).get(name)
        default = param.default
        if limit is not None and isinstance(default, int) and not isinstance(default, bool) and default > limit:
            changed[name] = limit
    told = ", ".join(f"{k}={v}" for k, v in changed.items()) or "constructor defaults kept"
    return ({"model": changed} if changed else {}), f"no {preset} entry in {model_cls.__name__}.presets: {told}"


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
        if not raw.strip():
            raise UsageError(f"--set {item!r}: empty value (write {key.strip()}=null for none)")
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


# -- typed validation: every value against its constructor annotation, in one place ---------------------
@functools.cache
def _parser(model_cls: type, data_cls: type) -> ArgumentParser:
    parser = ArgumentParser(exit_on_error=False)
    parser.add_class_arguments(model_cls, "model", skip=RESERVED["model"], fail_untyped=False)
    parser.add_class_arguments(data_cls, "data", skip=RESERVED["data"], fail_untyped=False)
    parser.add_class_arguments(TrainerSettings, "trainer", fail_untyped=False)
    return parser


def annotations(cls: type) -> dict[str, Any]:
    """Resolved type annotations of a class's constructor parameters, following **kwargs up the MRO."""
    hints: dict[str, Any] = {}
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        try:
            resolved = typing.get_type_hints(init)
        except Exception:  # noqa: BLE001 - an unresolvable hint is described by its text instead
            resolved = dict(getattr(init, "__annotations__", {}))
        for name, hint in resolved.items():
            hints.setdefault(name, hint)
    return hints


def section_keys(cls: type, section: str) -> list[str]:
    """The configurable keys of a model or datamodule class (runner-supplied ones excluded)."""
    return [k for k in parameters(cls) if k not in RESERVED[section]]


def validate(config: dict[str, Any], model_cls: type, data_cls: type, model: str, data: str) -> dict[str, Any]:
    """Every key known and every value of its annotated type; one line naming the culprit otherwise.

    Returns the complete sections: every configurable constructor argument with its effective value."""
    owners = {"model": (model_cls, f"model {model!r}"), "data": (data_cls, f"dataset {data!r}"),
              "trainer": (TrainerSettings, "the trainer")}
    for section, (cls, what) in owners.items():
        valid = section_keys(cls, section) if section != "trainer" else list(TRAINER_KEYS)
        for key in config.get(section) or {}:
            if key not in valid:
                if key in RESERVED.get(section, ()):
                    raise UsageError(f"{section}.{key}: set by the runner from the dataset, not configurable")
                raise UsageError(f"{section}.{key}: unknown option for {what} (valid: {', '.join(valid) or 'none'})")
    given = {s: dict(config.get(s) or {}) for s in SECTIONS}
    try:
        parsed = _parser(model_cls, data_cls).parse_object(given)
    except ArgumentError as exc:
        raise UsageError(_type_error(str(exc), given, owners)) from None
    complete = json.loads(_parser(model_cls, data_cls).dump(parsed, format="json", skip_none=False))
    sections = {s: plain(complete.get(s) or {}) for s in SECTIONS}
    for section, values in given.items():  # a number keeps the type it was given in: for Lightning's
        for key, value in values.items():  # limit_*_batches, 1 is one batch and 1.0 all of them
            if isinstance(value, (int, float)) and not isinstance(value, bool) and sections[section][key] == value:
                sections[section][key] = value
    return sections


def _type_error(message: str, given: dict[str, dict[str, Any]], owners: dict[str, tuple[type, str]]) -> str:
    """jsonargparse's (multi-line) message as one line: the key, the value given and what is expected."""
    found = re.search(r'[Kk]ey "(\w+)\.(\w+)"', message)
    if not found:
        return message.strip().splitlines()[0]
    section, key = found.groups()
    hint = (annotations(owners[section][0]) if section in owners else {}).get(key)
    value = given.get(section, {}).get(key)
    shown = "empty" if value is None else repr(value)
    return f"{section}.{key}={shown}: expected {describe(hint) if hint is not None else 'another value'}"


def build_config(model: str, data: str, preset: str, model_cls: type, data_cls: type,
                 overrides: list[str] | tuple[str, ...] | None = None, config_file: str | None = None,
                 values: dict[str, dict[str, Any]] | None = None,
                 defaults: dict[str, dict[str, Any]] | None = None,
                 layer: dict[str, Any] | None = None) -> dict[str, Any]:
    """The complete, validated `model`, `data` and `trainer` sections of one run.

    Layers, least specific first: the class defaults, `defaults` (the runner's machine-dependent ones), the
    preset's sections, a config file's sections (`config_file`, or `layer` when already loaded: a run's own
    config.yaml among them), `--set` overrides, then `values` (a sweep's sampled parameters)."""
    config: dict[str, Any] = {s: {} for s in SECTIONS}
    layers = [defaults or {}, *preset_layers(preset, model, data, model_cls, data_cls)]
    if config_file:
        layers.append(load_yaml(Path(config_file), "config file", FILE_SECTIONS))
    if layer:
        layers.append(layer)
    layers += [parse_overrides(list(overrides or [])), values or {}]
    for each in layers:
        config = merge(config, {s: each.get(s) or {} for s in SECTIONS})
    return validate(config, model_cls, data_cls, model, data)
