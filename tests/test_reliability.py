"""Reliability, fast tier: atomic writes, checkpoints a crash cannot spoil, which folder a rerun resumes,
non-finite losses, a matrix that survives a failure, determinism, and safe loading everywhere."""
from __future__ import annotations

import csv
import io
import json
import math
import pickle
import re
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from imageio import v3 as iio

from benchmark import checkpoints, records, resume
from benchmark.cli import main
from benchmark.run_config import RunConfig, RunRequest, prepare
from models import MODELS
from tests.conftest import REPO


# -- atomic writes and checkpoints ------------------------------------------------------------------------
def test_a_write_that_dies_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "metrics.json"
    records.write_json(target, {"status": "complete"})

    def dies(handle):
        handle.write(b'{"status": "compl')
        raise MemoryError("killed mid-write")

    with pytest.raises(MemoryError):
        records.atomic_write(target, dies)
    assert json.loads(target.read_text()) == {"status": "complete"}
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]


def test_checkpoint_io_replaces_atomically_and_loads_weights_only(tmp_path):
    io_ = checkpoints.AtomicCheckpointIO()
    path = tmp_path / "checkpoints" / "last.ckpt"
    io_.save_checkpoint({"global_step": 1, "w": torch.ones(2)}, path)
    with pytest.raises((pickle.PicklingError, AttributeError, TypeError)):
        io_.save_checkpoint({"global_step": 2, "bad": lambda: None}, path)  # cannot be pickled
    assert io_.load_checkpoint(path)["global_step"] == 1
    assert sorted(p.name for p in path.parent.iterdir()) == ["last.ckpt"]
    torch.save({"evil": Path("x")}, tmp_path / "pickled.ckpt")  # not a plain type: refused, never unpickled
    with pytest.raises(Exception, match="[Ww]eights only"):
        io_.load_checkpoint(tmp_path / "pickled.ckpt", weights_only=False)


def _fake_checkpoint(path: Path, step: int, batches: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"global_step": step, "epoch": 0, "state_dict": {"w": torch.zeros(1000)},
                "loops": {"fit_loop": {"epoch_loop.state_dict": {"_batches_that_stepped": batches}}}}, path)


def test_a_truncated_last_checkpoint_is_never_resumed_from(tmp_path, capsys):
    run = tmp_path / "run"
    _fake_checkpoint(run / "checkpoints" / "best.ckpt", 4, 2)
    _fake_checkpoint(run / "checkpoints" / "last.ckpt", 8, 4)
    assert checkpoints.latest(run).path.name == "last.ckpt"
    last = run / "checkpoints" / "last.ckpt"
    last.write_bytes(last.read_bytes()[: last.stat().st_size // 2])
    found = checkpoints.latest(run)
    assert found is not None and found.path.name == "best.ckpt" and (found.step, found.batches) == (4, 2)
    assert "ignoring checkpoint" in capsys.readouterr().err
    (run / "checkpoints" / "best.ckpt").write_bytes(b"")
    assert checkpoints.latest(run) is None


# -- which folder a rerun takes ------------------------------------------------------------------------------
def _config(seed: int = 0, lr: float = 2e-4) -> RunConfig:
    return prepare(RunRequest(model="unet", data="mri", preset="smoke", seed=seed, overrides=(f"model.lr={lr}",)))


def _folder(config: RunConfig, attempt: int, status: str | None = None, saved: dict | None = None) -> Path:
    folder = resume.attempt_folder(config, attempt)
    records.write_yaml(folder / "config.yaml", saved or config.saved())
    if status:
        records.write_json(folder / "metrics.json", {"status": status})
    return folder


@pytest.mark.parametrize("newest, outcome", [(None, "resume"), ("interrupted", "resume"), ("running", "resume"),
                                             ("complete", "done"), ("failed", "new")])
def test_a_rerun_resumes_the_newest_unfinished_attempt_keeps_a_complete_one_and_retries_a_failed_one(
        results_dir, newest, outcome):
    config = _config()
    _folder(config, 1, status="interrupted")  # an older unfinished attempt is never the one resumed
    latest = _folder(config, 2, status=newest)
    _folder(_config(seed=1), 1)  # another seed and another configuration: other names
    _folder(_config(lr=1e-3), 1)
    held = resume.claim(config, resume=True)
    try:
        if outcome == "new":
            assert held.folder == resume.attempt_folder(config, 3) and not held.resumed and not held.done
        else:
            assert held.folder == latest and (held.done if outcome == "done" else held.resumed)
    finally:
        held.release()
    fresh = resume.claim(config, resume=False)
    assert fresh.folder == resume.attempt_folder(config, 3) and not fresh.resumed
    fresh.release()


def test_a_folder_another_process_holds_is_left_to_it(results_dir):
    config = _config()
    held = _folder(config, 1)
    other = resume.RunLock(held)
    assert other.acquire()  # flock is per open file: a second open, as by another process, is refused
    try:
        claim = resume.claim(config, resume=True)
        assert claim.folder == resume.attempt_folder(config, 2) and not claim.resumed and claim.lock is not None
        claim.release()
    finally:
        other.release()
    claim = resume.claim(config, resume=True)
    assert claim.folder == held and claim.resumed and claim.checkpoint is None
    assert claim.record_fields() == {"resumed": True, "resumed_from_step": 0, "resumed_from_epoch": 0}
    claim.release()


def test_a_launched_rank_computes_its_rank_zeros_folder(results_dir):
    config = _config()
    assert resume.claim(config, resume=True, writer=False).folder == resume.attempt_folder(config, 1)
    started = _folder(config, 1)  # rank 0 made it (after this process started)
    assert resume.claim(config, resume=False, writer=False).folder == started
    records.write_json(started / "metrics.json", {"status": "complete"})
    assert resume.claim(config, resume=True, writer=False).folder == resume.attempt_folder(config, 2)


def test_log_rows_from_before_the_resume_point_are_kept(tmp_path):
    logs = tmp_path / "logs"
    records.write_csv(logs / "metrics.csv", [{"step": s, "loss": s / 10} for s in range(6)])
    resume.keep_log_history(tmp_path, batches=4)  # resumed from 4 batches: rows 4, 5 are logged again
    records.write_csv(logs / "metrics.csv", [{"step": s, "loss": s} for s in range(4, 8)])  # the new run's
    resume.merge_log_history(tmp_path)
    with open(logs / "metrics.csv") as handle:
        steps = [int(r["step"]) for r in csv.DictReader(handle)]
    assert steps == list(range(8)) and not (logs / resume.LOG_HISTORY).exists()


# -- real runs ---------------------------------------------------------------------------------------------
def _records(results_dir: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(results_dir.glob("runs/*/*/*/*/metrics.json"))]


def test_nonfinite_losses_fail_the_run_after_k_skipped_steps(results_dir, capsys):
    # A learning rate of 1e30 sends the weights to inf after the first step: every later loss is NaN.
    code = main(["run", "--model", "unet", "--data", "mri", "--preset", "smoke", "--no-leaderboard", "--set",
                 "model.lr=1e30 trainer.max_epochs=3 trainer.limit_train_batches=3 trainer.max_nonfinite_steps=2"])
    captured = capsys.readouterr()
    assert code == 1
    (record,) = _records(results_dir)
    assert record["status"] == "failed"
    assert record["reason"] == "FloatingPointError: training diverged: 3 steps with a non-finite loss"
    assert captured.out.count("non-finite loss at step") == 2  # each skipped step is announced
    assert "Traceback" not in captured.err


def test_a_matrix_records_an_injected_failure_and_goes_on(results_dir, monkeypatch, capsys):
    def out_of_memory(self, batch, batch_idx):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(MODELS["cgan"], "training_step", out_of_memory)
    code = main(["run", "--model", "identity,cgan,unet", "--data", "mri", "--preset", "smoke"])
    err = capsys.readouterr().err
    assert code == 1
    status = {r["model"]: (r["status"], r.get("reason")) for r in _records(results_dir)}
    assert status["identity"][0] == status["unet"][0] == "complete"
    assert status["cgan"] == ("failed", "OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB")
    assert "2/3 runs complete" in err and "failed: cgan on mri seed 0: OutOfMemoryError" in err
    board = (results_dir / "LEADERBOARD.md").read_text()
    assert "| unet |" in board and "cgan seed 0" in board


def test_a_matrix_with_bad_data_for_one_dataset_goes_on(tmp_path, results_dir, capsys):
    root = tmp_path / "nir"  # a NIR layout: fine for nir, no images at all for fluorescence
    for side in ("A", "B"):
        (root / "test" / side).mkdir(parents=True)
        iio.imwrite(root / "test" / side / "p1.png", np.random.default_rng(0).integers(0, 256, (64, 64), np.uint8))
    code = main(["run", "--model", "identity", "--data", "fluorescence,nir", "--preset", "smoke",
                 "--data-root", str(root), "--no-leaderboard"])
    err = capsys.readouterr().err
    assert code == 1 and "1/2 runs complete" in err
    assert f"failed: identity on fluorescence seed 0: {root}: no PNG/TIFF images in the folder" in err
    assert [r["dataset"] for r in _records(results_dir)] == ["nir"]  # bad data writes nothing


def test_constant_and_all_zero_images_are_scored_without_dividing_by_zero(tmp_path, results_dir):
    root = tmp_path / "nir"
    for side, flat in (("A", 128), ("B", 200)):
        (root / "test" / side).mkdir(parents=True)
        iio.imwrite(root / "test" / side / "zero.png", np.zeros((64, 64), np.uint8))
        iio.imwrite(root / "test" / side / "flat.png", np.full((64, 64), flat, np.uint8))
    assert main(["run", "--model", "identity", "--data", "nir", "--preset", "smoke", "--data-root", str(root)]) == 0
    (record,) = _records(results_dir)
    assert record["status"] == "complete"
    assert math.isfinite(record["test"]["psnr"]) and math.isfinite(record["test"]["ssim"])
    with open(next(results_dir.glob("runs/nir/identity/smoke/*/per_image.csv"))) as handle:
        rows = {r["id"]: r for r in csv.DictReader(handle)}
    assert float(rows["zero"]["psnr"]) == 100.0 and math.isnan(float(rows["zero"]["nrmse"]))  # capped; undefined
    assert "| identity |" in (results_dir / "LEADERBOARD.md").read_text()
    assert (results_dir / "leaderboard.html").stat().st_size > 0


def test_the_same_seed_gives_identical_test_metrics(tmp_path, monkeypatch):
    results = []
    for attempt in ("first", "second"):
        monkeypatch.setenv("RESULTS_DIR", str(tmp_path / attempt))
        assert main(["run", "--model", "cgan", "--data", "fmd", "--preset", "smoke", "--no-leaderboard"]) == 0
        (path,) = (tmp_path / attempt).glob("runs/*/*/*/*/metrics.json")
        results.append((json.loads(path.read_text())["test"], (path.parent / "per_image.csv").read_text()))
    assert results[0] == results[1]


# -- safe loading ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(MODELS))
def test_model_hyperparameters_survive_weights_only_loading(name):
    """Lightning saves `hparams` in every checkpoint; resuming reads it with weights_only=True."""
    config = prepare(RunRequest(model=name, data="mri", preset="smoke"))
    model = MODELS[name](in_channels=1, out_channels=1, image_size=32, **config.sections["model"])
    buffer = io.BytesIO()
    torch.save({"hyper_parameters": dict(model.hparams)}, buffer)
    buffer.seek(0)
    assert torch.load(buffer, weights_only=True)["hyper_parameters"] == dict(model.hparams)


SOURCES = [p for folder in ("benchmark", "datamodules", "models", "sweeps") for p in (REPO / folder).rglob("*.py")]


def test_no_unsafe_loading_and_no_shell_commands_in_the_code():
    unsafe = re.compile(r"yaml\.(unsafe_load|full_load|load)\(|shell\s*=\s*True|os\.system\(|os\.popen\(|"
                        r"pickle\.loads?\(|allow_pickle\s*=\s*True")
    torch_load = re.compile(r"torch\.load\((?:[^()]|\([^()]*\))*\)")
    found = []
    for path in SOURCES:
        text = path.read_text(encoding="utf-8")
        found += [f"{path.relative_to(REPO)}: {m.group(0)}" for m in unsafe.finditer(text)]
        found += [f"{path.relative_to(REPO)}: {m.group(0)}" for m in torch_load.finditer(text)
                  if "weights_only=True" not in m.group(0)]
    assert not found


def test_saved_configurations_are_plain_yaml(results_dir):
    config = _config()
    folder = _folder(config, 1)
    assert yaml.safe_load((folder / "config.yaml").read_text()) == yaml.safe_load(yaml.safe_dump(config.saved()))
    assert resume.same_config(folder, config)
