"""Bring your own model and data: a dotted path with no registration, and an installed plug-in package."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from benchmark.cli import main
from datamodules import DATASETS
from models import MODELS

REPO = Path(__file__).resolve().parents[1]

TINY = '''
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from datamodules.base import SPLITS, PairedDataModule, Split
from models.base import TranslationModel


class TinyNet(TranslationModel):
    def __init__(self, in_channels: int = 1, out_channels: int = 1, image_size: int = 256, width: int = 4) -> None:
        super().__init__(in_channels, out_channels, image_size)
        self.save_hyperparameters()
        self.generator = nn.Sequential(nn.Conv2d(in_channels, width, 3, padding=1), nn.ReLU(),
                                       nn.Conv2d(width, out_channels, 3, padding=1))

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> torch.Tensor:
        return F.l1_loss(self(batch["source"]), batch["target"])

    def configure_optimizers(self) -> Any:
        return torch.optim.Adam(self.parameters(), lr=1e-3)


class Ramps(PairedDataModule):
    name = "ramps"

    def build_splits(self) -> dict[str, Split]:
        ramp = torch.linspace(0, 1, 32).expand(32, 32)[None]
        return {s: Split(source=[ramp * 0.5] * 4, target=[ramp] * 4, ids=[f"{s}{i}" for i in range(4)])
                for s in SPLITS}
'''


@pytest.fixture()
def tiny_module(tmp_path, monkeypatch):
    (tmp_path / "my_tiny.py").write_text(textwrap.dedent(TINY))
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "my_tiny"
    sys.modules.pop("my_tiny", None)


def _board_rows(results_dir: Path) -> str:
    return (results_dir / "LEADERBOARD.md").read_text()


def test_a_model_given_by_dotted_path_runs_end_to_end(tiny_module, results_dir):
    assert main(["run", "--model", f"{tiny_module}:TinyNet", "--data", "mri", "--preset", "smoke"]) == 0
    (metrics,) = results_dir.glob("runs/mri/my_tiny.TinyNet/smoke/*/metrics.json")
    record = json.loads(metrics.read_text())
    assert record["status"] == "complete" and record["model"] == "my_tiny:TinyNet"
    assert "no smoke entry in TinyNet.presets" in record["notes"]["preset"][0]
    assert "my_tiny:TinyNet" in _board_rows(results_dir)


def test_a_dataset_given_by_dotted_path_runs_end_to_end(tiny_module, results_dir):
    assert main(["run", "--model", "unet", "--data", f"{tiny_module}:Ramps", "--preset", "smoke"]) == 0
    (metrics,) = results_dir.glob("runs/my_tiny.Ramps/unet/smoke/*/metrics.json")
    assert json.loads(metrics.read_text())["status"] == "complete"


def test_a_dotted_path_that_is_not_a_model_is_one_line(tiny_module, results_dir, capsys):
    assert main(["run", "--model", f"{tiny_module}:Ramps", "--data", "mri", "--preset", "smoke"]) == 2
    err = capsys.readouterr().err.strip()
    assert "expected a subclass of models.base:TranslationModel" in err and "\n" not in err
    assert main(["run", "--model", "no_such_module:Net", "--data", "mri"]) == 2
    assert "cannot import module 'no_such_module'" in capsys.readouterr().err


def test_the_example_plugin_installed_joins_the_zoo(tmp_path, results_dir, monkeypatch, capsys):
    """pip installs examples/plugin (no dependencies, no build isolation: offline) into a folder put on the
    path; its entry points make `residual-cnn` and `speckle` ordinary names."""
    site, source = tmp_path / "site", tmp_path / "plugin"
    shutil.copytree(REPO / "examples" / "plugin", source)  # pip builds in place: keep the checkout clean
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                    "--target", str(site), str(source)], check=True, capture_output=True)
    monkeypatch.syspath_prepend(str(site))
    for registry in (MODELS, DATASETS):  # discover again, with the plug-in installed; restored afterwards
        monkeypatch.setattr(registry, "_entries", dict(registry._entries))
        monkeypatch.setattr(registry, "_loaded", False)
    capsys.readouterr()
    assert main(["list", "all", "residual-cnn", "speckle", "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    model = listing["models"]["residual-cnn"]
    assert model["class"] == "i2i_plugin_example.model.ResidualCNN"
    assert model["parameters"]["generator"] == 1 * 64 * 9 + 64 + 15 * (64 * 64 * 9 + 64) + 64 * 9 + 1
    assert listing["datasets"]["speckle"]["task"] == "denoise"
    assert main(["run", "--model", "residual-cnn,unet", "--data", "speckle", "--preset", "smoke"]) == 0
    board = (results_dir / "LEADERBOARD.md").read_text()
    assert "residual-cnn" in board and "unet" in board
    for name in [m for m in sys.modules if m.startswith("i2i_plugin_example")]:
        monkeypatch.delitem(sys.modules, name)


def test_the_examples_in_the_extending_guide_run(tmp_path, results_dir, monkeypatch):
    """The two code blocks of docs/extending.md, as written, run a smoke fit each."""
    text = (REPO / "docs" / "extending.md").read_text()
    blocks = [b.split("```", 1)[0] for b in text.split("```python\n")[1:]]
    assert len(blocks) == 2
    for name, block in zip(("guide_model", "guide_data"), blocks):
        (tmp_path / f"{name}.py").write_text(block)
    monkeypatch.syspath_prepend(str(tmp_path))
    for registry in (MODELS, DATASETS):
        monkeypatch.setattr(registry, "_entries", dict(registry._entries))
    assert main(["run", "--model", "guide_model:TinyCNN", "--data", "guide_data:BlurDataModule",
                 "--preset", "smoke", "--no-leaderboard"]) == 0
    # imported once, the decorators made them ordinary names
    assert main(["run", "--model", "tiny-cnn", "--data", "mri", "--preset", "smoke", "--no-leaderboard"]) == 0
    records = [json.loads(p.read_text()) for p in results_dir.glob("runs/*/*/smoke/*/metrics.json")]
    assert sorted(r["status"] for r in records) == ["complete", "complete"]
    for name in ("guide_model", "guide_data"):
        monkeypatch.delitem(sys.modules, name, raising=False)
