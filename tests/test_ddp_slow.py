"""DDP on CPU (gloo), slow tier: real multi-process runs through the command line.

What must hold whatever the number of processes: one run folder and one leaderboard per run (launched ranks
share rank 0's run id and write nothing), every test image counted exactly once (an odd test set, padded by
the distributed sampler), GAN generators and discriminators identical on every rank after each manual
optimization step (their gradients are synchronised), a non-finite loss on one rank skipping the step on all
ranks (not hanging them), and a checkpoint scoring the same per image with 1 and with 2 processes.

This module is also the probe script the GAN checks launch (`python -m tests.test_ddp_slow sync ...`):
Lightning's launcher re-runs that command line for rank 1, so the probe's callback runs on both ranks.
"""
from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.slow

TIMEOUT = 900
MRI_SMOKE = ["data.size=32", "data.subjects=[2,1,1]", "data.slices_per_subject=3"]  # 3 test images: odd


def _env(results: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("I2I_RUN_ID_")}
    env.update(RESULTS_DIR=str(results), PYTHONPATH=str(REPO), CUDA_VISIBLE_DEVICES="")
    return env


def _run(args: list[str], results: Path) -> subprocess.CompletedProcess:
    """Run in a session of its own, so a hung run's launched ranks are killed with it."""
    proc = subprocess.Popen([sys.executable, *args], cwd=REPO, env=_env(results), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        stdout, stderr = proc.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        stdout, stderr = proc.communicate()
        pytest.fail(f"timed out after {TIMEOUT} s (a hung DDP run?): {stderr[-3000:]}")
    done = subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-5000:]
    return done


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path) as handle:
        return list(csv.DictReader(handle))


def test_unet_and_gan_matrix_under_ddp_writes_one_record_each(tmp_path):
    results = tmp_path / "results"
    done = _run(["-m", "benchmark", "run", "--model", "unet,cgan", "--data", "mri", "--preset", "smoke",
                 "--devices", "2"], results)
    assert done.stdout.count("leaderboard:") == 1, done.stdout
    for model in ("unet", "cgan"):
        (run,) = (results / "runs" / "mri" / model / "smoke").iterdir()  # rank 1 shares the folder
        record = json.loads((run / "metrics.json").read_text())
        assert record["status"] == "complete", record.get("reason")
        rows = _rows(run / "per_image.csv")
        assert record["images"] == len(rows) == len({r["id"] for r in rows}) == 3  # the padded image once
        assert (run / "checkpoints" / "best.ckpt").is_file()


def test_torchrun_launch_writes_one_record(tmp_path):
    results = tmp_path / "results"
    _run(["-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2", "-m", "benchmark", "run",
          "--model", "unet", "--data", "mri", "--preset", "smoke", "--devices", "2", "--no-leaderboard"], results)
    (run,) = (results / "runs" / "mri" / "unet" / "smoke").iterdir()
    assert json.loads((run / "metrics.json").read_text())["status"] == "complete"


@pytest.mark.parametrize("model", ["cgan", "cyclegan"])
def test_gan_networks_stay_identical_across_ranks(model, tmp_path):
    out = tmp_path / "sync.json"
    _run(["-m", "tests.test_ddp_slow", "sync", model, str(out)], tmp_path / "results")
    report = json.loads(out.read_text())
    assert report["status"] == "complete" and report["steps"], report
    assert all(step["different_batches"] for step in report["steps"])  # so equal weights need synced grads
    for step in report["steps"]:
        assert all(net["identical"] for net in step["networks"].values()), step
    last = report["steps"][-1]["networks"]
    assert len(last) >= 2 and all(net["moved"] for net in last.values()), last  # G and D both trained


def test_nonfinite_loss_on_one_rank_skips_the_step_on_all(tmp_path):
    out = tmp_path / "nan.json"
    _run(["-m", "tests.test_ddp_slow", "nan", "cgan", str(out)], tmp_path / "results")
    report = json.loads(out.read_text())
    assert report["status"] == "complete", report
    counts = report["nonfinite_steps"]
    assert len(counts) == 2 and counts[0] == counts[1] >= 1  # both ranks skipped the poisoned step
    for step in report["steps"]:
        assert all(net["identical"] for net in step["networks"].values()), step


def test_checkpoint_scores_the_same_with_one_and_two_processes(tmp_path):
    results = tmp_path / "results"
    _run(["-m", "benchmark", "run", "--model", "unet", "--data", "mri", "--preset", "smoke", "--no-leaderboard",
          "--devices", "1"], results)
    (checkpoint,) = results.glob("runs/mri/unet/smoke/*/checkpoints/best.ckpt")
    outputs = {}
    for devices in ("1", "2"):
        done = _run(["-m", "benchmark", "evaluate", "--checkpoint", str(checkpoint), "--data", "mri",
                     "--devices", devices, "--set", " ".join(MRI_SMOKE)], results)
        assert "written to" in done.stdout
        outputs[devices] = Path(done.stdout.split("written to")[-1].strip())
    one, two = (_rows(outputs[d] / "per_image.csv") for d in ("1", "2"))
    assert len(one) == len(two) == 3 and [r["id"] for r in one] == [r["id"] for r in two]
    assert one == two  # every value, as written
    means = [json.loads((outputs[d] / "metrics.json").read_text()) for d in ("1", "2")]
    assert means[0]["test"] == means[1]["test"] and means[0]["input"] == means[1]["input"]


# -- the probe: runs inside every rank of a 2-process DDP run ---------------------------------------------------
def _probe(mode: str, model: str, out: str) -> None:
    import lightning as L
    import torch
    import torch.distributed as dist

    from benchmark.fast_paths import networks_of
    from benchmark.runner import RunRequest, execute, prepare

    class Probe(L.Callback):
        """After every step: are each network's parameters identical on all ranks, and did they move?"""

        def __init__(self) -> None:
            self.steps: list[dict[str, Any]] = []
            self.start: dict[str, torch.Tensor] = {}
            self.nonfinite: list[int] = []

        @staticmethod
        def flat(net: torch.nn.Module) -> torch.Tensor:
            return torch.cat([p.detach().reshape(-1).float() for p in net.parameters()])

        def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
            self.start = {name: self.flat(net) for name, net in networks_of(pl_module).items()}

        def on_train_batch_start(self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any,
                                 batch_idx: int) -> None:
            if mode == "nan" and trainer.global_rank == 1 and batch_idx == 0:
                batch["target"] = torch.full_like(batch["target"], float("nan"))  # poisons rank 1 only

        def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any,
                               batch: Any, batch_idx: int) -> None:
            ids: list[Any] = [None] * dist.get_world_size()
            dist.all_gather_object(ids, list(batch["id"]))
            nets = {}
            for name, net in networks_of(pl_module).items():
                mine = self.flat(net)
                every = trainer.strategy.all_gather(mine)
                nets[name] = {"identical": bool((every == every[0]).all()),
                              "moved": bool((mine != self.start[name]).any())}
            self.steps.append({"different_batches": ids[0] != ids[1], "networks": nets})

        def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
            counts: list[Any] = [None] * dist.get_world_size()
            dist.all_gather_object(counts, pl_module.nonfinite_steps)
            self.nonfinite = counts

    config = prepare(RunRequest(model=model, data="mri", preset="smoke", devices="2", overrides=MRI_SMOKE,
                                logger="csv"))
    probe = Probe()
    record = execute(config, callbacks=[probe])
    if dist.is_initialized() and dist.get_rank() == 0:
        Path(out).write_text(json.dumps({"status": record["status"], "reason": record.get("reason"),
                                         "steps": probe.steps, "nonfinite_steps": probe.nonfinite}))


if __name__ == "__main__":
    _probe(*sys.argv[1:4])
