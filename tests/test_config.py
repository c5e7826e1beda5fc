"""Presets, config files and --set overrides: merge order, validation, one-line errors."""
from __future__ import annotations

import pytest

from benchmark.config import build_config, parse_overrides
from benchmark.errors import UsageError
from datamodules import DATASETS
from models import MODELS


def _config(model="unet", data="mri", preset="quick", overrides=None, config_file=None):
    return build_config(model, data, preset, MODELS[model], DATASETS[data], overrides, config_file)


def test_preset_layers_merge_most_specific_last():
    smoke = _config(preset="smoke")
    assert smoke["trainer"]["max_epochs"] == 1
    assert smoke["model"]["ngf"] == 8  # models.unet section
    assert "size" in smoke["data"]  # datasets.mri section


def test_overrides_are_typed_and_win(tmp_path):
    cfg_file = tmp_path / "c.yaml"
    cfg_file.write_text("model: {lr: 0.001}\ntrainer: {max_epochs: 3}\n")
    config = _config(overrides=["model.lr=1e-5", "trainer.max_epochs=2"], config_file=str(cfg_file))
    assert config["model"]["lr"] == pytest.approx(1e-5) and config["trainer"]["max_epochs"] == 2
    assert _config(config_file=str(cfg_file))["model"]["lr"] == pytest.approx(1e-3)


@pytest.mark.parametrize("override, fragment", [
    ("model.lrr=1", "model.lrr: unknown option"),
    ("model.lr=abc", "model.lr='abc': expected"),
    ("trainer.max_epochs=1.5", "trainer.max_epochs=1.5"),
    ("trainer.foo=1", "trainer.foo: unknown option"),
    ("nosection", "expected section.key=value"),
    ("optim.lr=1", "unknown section 'optim'"),
])
def test_bad_overrides_name_the_culprit(override, fragment):
    with pytest.raises(UsageError) as info:
        _config(overrides=[override])
    assert fragment in str(info.value) and "\n" not in str(info.value)


def test_unknown_preset_and_bad_config_file(tmp_path):
    with pytest.raises(UsageError, match="--preset 'fast' is not one of smoke, quick, paper"):
        _config(preset="fast")
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: [unclosed\n")
    with pytest.raises(UsageError, match="not valid YAML"):
        _config(config_file=str(bad))


def test_parse_overrides_yaml_scalars():
    parsed = parse_overrides(["model.flag=true", "data.crop_size=64", "model.name=abc", "model.x=1e-3"])
    assert parsed == {"model": {"flag": True, "name": "abc", "x": 1e-3}, "data": {"crop_size": 64}}


@pytest.mark.parametrize("given, expected", [(None, 1.0), ("1", 1), ("1.0", 1.0), ("0.5", 0.5), ("3", 3)])
def test_batch_limits_keep_lightnings_int_versus_fraction_meaning(given, expected):
    """1 is one batch, 1.0 all of them: the typed configuration must not turn one into the other."""
    overrides = [f"trainer.limit_train_batches={given}"] if given else []
    value = _config(overrides=overrides)["trainer"]["limit_train_batches"]
    assert value == expected and type(value) is type(expected)
