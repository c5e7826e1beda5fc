"""Exact resume (fast tier): a run interrupted mid-epoch and run again ends with test metrics bit-identical
to an uninterrupted run, its record counts the training time before the interruption, and the pieces that
make it so (the epoch order, the random states, CycleGAN's pools) round-trip on their own."""
from __future__ import annotations

import json
import random
from pathlib import Path

import lightning as L
import numpy as np
import pytest
import torch

from benchmark.exact_resume import random_states, set_random_states
from benchmark.run_config import RunRequest, prepare
from benchmark.runner import execute
from datamodules.sampling import EpochSampler
from models.image_pool import ImagePool

# cyclegan: two optimizers, image pools and held-back targets. mri smoke: 2 batches per epoch, so the interruption is mid-epoch.
SETTINGS = ("trainer.max_epochs=2", "trainer.checkpoint_every_n_batches=1", "model.ngf=4", "model.ndf=4",
            "model.num_blocks=1")


class InterruptAt(L.Callback):
    """Ctrl-C just before training batch `at` (counted over the whole fit) starts."""

    def __init__(self, at: int) -> None:
        self.at = at

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if trainer.fit_loop.epoch_loop.total_batch_idx + 1 == self.at:
            raise KeyboardInterrupt


def _config(model: str):
    return prepare(RunRequest(model=model, data="mri", preset="smoke", overrides=SETTINGS))


def _record(results: Path) -> tuple[dict, str | None]:
    (path,) = results.glob("runs/*/*/*/*/metrics.json")
    rows = path.parent / "per_image.csv"
    return json.loads(path.read_text()), rows.read_text() if rows.exists() else None


@pytest.mark.parametrize("model", ["cyclegan"])
def test_a_run_interrupted_mid_epoch_resumes_to_the_uninterrupted_result(model, tmp_path, monkeypatch):
    monkeypatch.setenv("RESULTS_DIR", str(tmp_path / "straight"))
    execute(_config(model), resume=True)
    straight, straight_rows = _record(tmp_path / "straight")
    batches = straight["efficiency"]["global_steps"] // 2  # two optimizer steps per GAN batch
    assert batches == 4

    monkeypatch.setenv("RESULTS_DIR", str(tmp_path / "resumed"))
    with pytest.raises((KeyboardInterrupt, SystemExit)):
        execute(_config(model), callbacks=[InterruptAt(2)], resume=True)  # mid-epoch
    interrupted, _ = _record(tmp_path / "resumed")
    assert interrupted["status"] == "interrupted"
    (last,) = (tmp_path / "resumed").glob("runs/*/*/*/*/checkpoints/last.ckpt")
    before = torch.load(last, weights_only=True)["callbacks"]["ExactResume"]["train_seconds"]
    execute(_config(model), resume=True)
    resumed, resumed_rows = _record(tmp_path / "resumed")

    assert resumed["status"] == "complete" and resumed["resumed"] is True
    assert resumed["resumed_from_step"] == 2 * 1  # after the first batch of two
    assert resumed["test"] == straight["test"]  # bit-identical means, and per image:
    assert resumed_rows == straight_rows
    assert resumed["efficiency"]["global_steps"] == straight["efficiency"]["global_steps"]
    assert len(list((tmp_path / "resumed").glob("runs/*/*/*/*/metrics.json"))) == 1
    assert resumed["efficiency"]["train_seconds"] > before > 0  # the time before the interruption counts


def test_the_epoch_order_depends_on_seed_and_epoch_only_and_resumes_mid_epoch():
    sampler = EpochSampler(10, seed=3)
    sampler.set_epoch(2)
    whole = list(sampler)
    assert sorted(i for i, _ in whole) == list(range(10))
    assert whole == list(EpochSampler(10, seed=3).order(2)) and whole != sampler.order(1)
    sampler.mark(2, 4)
    again = EpochSampler(10, seed=3)
    again.load_state_dict(sampler.state_dict())
    assert list(again) == whole[4:] and list(again) == whole  # the skip applies to one iteration only


def test_random_states_round_trip_through_a_weights_only_checkpoint(tmp_path):
    torch.manual_seed(1), np.random.seed(1), random.seed(1)
    path = tmp_path / "states.pt"
    torch.save(random_states(), path)
    expected = (torch.rand(3), np.random.rand(3), random.random())
    torch.manual_seed(2), np.random.seed(2), random.seed(2)
    set_random_states(torch.load(path, weights_only=True))
    got = (torch.rand(3), np.random.rand(3), random.random())
    assert torch.equal(got[0], expected[0]) and np.array_equal(got[1], expected[1]) and got[2] == expected[2]


def test_an_image_pool_round_trips():
    pool = ImagePool(3)
    pool.query(torch.rand(3, 1, 4, 4))
    copy = ImagePool(3)
    copy.load_state_dict(pool.state_dict())
    torch.manual_seed(0)
    first = pool.query(torch.ones(2, 1, 4, 4))
    torch.manual_seed(0)
    assert torch.equal(copy.query(torch.ones(2, 1, 4, 4)), first)
