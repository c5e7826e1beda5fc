"""The performance harness, the GPU fast paths and the launch helpers, on a CPU in seconds.

The harness must emit one valid JSON line per measurement with the keys the leaderboard's efficiency columns
read, count FLOPs as a hand computation does, and write the device's JSON file. The fast paths must be
speed-only: float32 metrics and TG loss under bf16 autocast, unchanged checkpoint keys, equal outputs.
"""
from __future__ import annotations

import csv
import json
import tempfile

import lightning as L
import pytest
import torch
from lightning.pytorch.loggers import CSVLogger

from benchmark.cli import main
from benchmark.evaluation import Evaluator
from benchmark.fast_paths import compile_networks, enable_fast_paths, networks_of
from benchmark.perf.cases import Case, loader
from benchmark.perf.flop_count import count_flops, train_flops_per_image
from benchmark.perf.harness import save
from benchmark.perf.timing import is_boundary, total_steps
from benchmark.run_config import RunConfig
from benchmark.trainer import is_distributed, is_rank_zero, resolve_devices
from models.losses.total_gradient import total_gradient_loss

TRAIN_KEYS = {"model", "precision", "size", "batch", "device", "lightning_images_per_s", "raw_images_per_s",
              "lightning_over_raw", "inference_images_per_s", "train_gflops_per_image",
              "inference_gflops_per_image", "mfu_train", "mfu_inference", "peak_tflops"}


# -- FLOPs ---------------------------------------------------------------------------------------------------------
def test_flops_of_one_conv_match_the_hand_count():
    conv = torch.nn.Conv2d(3, 8, kernel_size=3, padding=1, bias=False)
    x = torch.rand(2, 3, 16, 16, requires_grad=True)
    forward = 2 * 2 * 8 * 16 * 16 * 3 * 3 * 3  # 2 FLOPs per multiply-add: B * Cout * H * W * (Cin * k * k)
    assert count_flops(conv, x) == forward
    # backward: the gradient of the input and of the weight, each as costly as the forward
    assert count_flops(lambda t: conv(t).sum().backward(), x) == 3 * forward


def test_train_flops_of_the_unet_step_are_three_forwards():
    case = Case("unet", 32, 2, "smoke")
    model = case.build()
    batch = case.batches(model)[0]
    forward = count_flops(model.predict_batch, batch) / 2
    # the input needs no gradient: the first conv's backward computes only its weight gradient
    assert 2.5 * forward < train_flops_per_image(model, batch) <= 3 * forward


# -- the harness end to end ------------------------------------------------------------------------------------------
def test_harness_emits_json_lines_and_writes_the_device_file(tmp_path, capsys):
    out = tmp_path / "perf.json"
    assert main(["perf", "--models", "unet,cgan", "--size", "32", "--batch", "2", "--steps", "1", "--repeats", "1",
                 "--preset", "smoke", "--data", "fmd", "--tg-sizes", "16", "--threads", "1",
                 "--out", str(out)]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]
    by_bench: dict[str, list[dict]] = {}
    for line in lines:
        by_bench.setdefault(line["bench"], []).append(line)
    assert [m["model"] for m in by_bench["train"]] == ["unet", "cgan"]
    for train in by_bench["train"]:
        assert TRAIN_KEYS <= set(train), TRAIN_KEYS - set(train)
        assert train["lightning_images_per_s"] > 0 and train["raw_images_per_s"] > 0
        assert train["train_gflops_per_image"] > train["inference_gflops_per_image"] > 0
        assert 0 < train["mfu_train"] and train["lightning_over_raw"] > 0
    assert by_bench["peak"][0]["tflops"] > 0
    (data,) = by_bench["data"]
    assert data["dataset"] == "fmd" and data["samples_per_s"] > 0 and data["headroom"] > 0
    (tg,) = by_bench["tg_loss"]
    assert tg["size"] == 16 and tg["fast_ms"] > 0
    written = json.loads(out.read_text())
    assert written["measurements"] == lines and written["device"]


def test_saving_merges_by_measurement_key(tmp_path):
    from benchmark.perf.harness import PerfOptions

    options = PerfOptions(models=["unet"], datasets=[], out=str(tmp_path / "d.json"))
    first = [{"bench": "train", "model": "unet", "precision": "32-true", "size": 64, "batch": 4, "v": 1},
             {"bench": "train", "model": "cgan", "precision": "32-true", "size": 64, "batch": 4, "v": 1}]
    save(first, "cpu x", options)
    save([{"bench": "train", "model": "unet", "precision": "32-true", "size": 64, "batch": 4, "v": 2}], "cpu x",
         options)
    kept = json.loads((tmp_path / "d.json").read_text())["measurements"]
    assert sorted((m["model"], m["v"]) for m in kept) == [("cgan", 1), ("unet", 2)]


def test_windows_start_after_the_warm_up():
    assert total_steps(2, 3, 4) == 2 + 12 + 1
    assert [i for i in range(total_steps(2, 3, 4)) if is_boundary(i, 2, 3)] == [2, 5, 8, 11, 14]


# -- fast paths: speed only ------------------------------------------------------------------------------------------
def test_metrics_and_tg_loss_stay_float32_under_bf16_autocast():
    generator = torch.Generator().manual_seed(0)
    target = torch.rand(2, 1, 32, 32, generator=generator)
    batch = {"source": (target + 0.1 * torch.rand(target.shape, generator=generator)).clamp(0, 1),
             "target": target, "id": ["a", "b"]}
    prediction = (target + 0.05 * torch.randn(target.shape, generator=generator)).clamp(0, 1)
    evaluator = Evaluator()
    plain = evaluator.score(prediction, batch)
    plain_tg = total_gradient_loss(prediction, target, "half")
    with torch.autocast("cpu", dtype=torch.bfloat16):
        mixed = evaluator.score(prediction.bfloat16(), batch)
        mixed_tg = total_gradient_loss(prediction, target, "half")
    assert mixed_tg.dtype == torch.float32 and torch.equal(mixed_tg, plain_tg)
    for name, values in plain.items():  # bf16 predictions differ by rounding only, not by bf16 arithmetic
        assert mixed[name].dtype == values.dtype
        exact = evaluator.score(prediction.bfloat16().float(), batch)[name]
        assert torch.allclose(mixed[name], exact, rtol=1e-6, atol=1e-6), name


def test_channels_last_keeps_outputs_and_checkpoint_keys():
    case = Case("cgan", 32, 2, "smoke")
    model, reference = case.build(), case.build()
    batch = case.batches(model)[0]
    fast = enable_fast_paths(model, channels_last=True, cuda=False)
    assert set(fast.channels_last) == {"generator", "discriminator"} and fast.callbacks
    for net in (model.generator, model.discriminator):
        weights = [p for p in net.parameters() if p.dim() == 4 and p.shape[1] > 1]
        assert weights and all(w.is_contiguous(memory_format=torch.channels_last) for w in weights)
    assert list(model.state_dict()) == list(reference.state_dict())
    model.eval()
    reference.eval()
    with torch.no_grad():
        assert torch.allclose(model.predict_batch(batch), reference.predict_batch(batch), atol=1e-5)


def test_compile_is_in_place_and_keeps_checkpoint_keys():
    case = Case("cyclegan", 32, 1, "smoke")
    model = case.build()
    keys = list(model.state_dict())
    names = compile_networks(model)
    assert set(names) == set(networks_of(model)) == {"generator", "generator_ba", "discriminator_a",
                                                      "discriminator_b"}
    assert all(getattr(net, "_compiled_call_impl", None) is not None for net in networks_of(model).values())
    assert list(model.state_dict()) == keys  # checkpoints load into uncompiled models


def test_no_fast_path_on_a_cpu_by_default():
    model = Case("unet", 32, 1, "smoke").build()
    fast = enable_fast_paths(model, cuda=False)
    assert not fast.callbacks and not fast.trainer_options and not fast.channels_last


# -- the GAN loss logging gate keeps every written value -------------------------------------------------------------
def test_gan_terms_are_written_on_every_logged_step():
    case = Case("cgan", 32, 2, "smoke")
    model = case.build()
    with tempfile.TemporaryDirectory() as out:
        trainer = L.Trainer(accelerator="cpu", devices=1, max_epochs=2, limit_train_batches=5, limit_val_batches=0,
                            logger=CSVLogger(out, name="logs", version=""), log_every_n_steps=2,
                            enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False)
        trainer.fit(model, train_dataloaders=loader(case.batches(model), 5))
        with open(f"{out}/logs/metrics.csv") as handle:
            rows = [r for r in csv.DictReader(handle) if r.get("train/g_loss")]
    assert [int(r["step"]) for r in rows] == [1, 3, 5, 7, 9]
    for row in rows:  # terms from the same step as their total
        assert float(row["train/d_real"]) + float(row["train/d_fake"]) == pytest.approx(float(row["train/d_loss"]))
        assert float(row["train/g_adv"]) + float(row["train/g_l1"]) == pytest.approx(float(row["train/g_loss"]))


# -- launch helpers --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("env, zero", [({}, True), ({"RANK": "0", "LOCAL_RANK": "0"}, True), ({"RANK": "3"}, False),
                                       ({"LOCAL_RANK": "1"}, False), ({"LOCAL_RANK": "0", "NODE_RANK": "1"}, False),
                                       ({"SLURM_PROCID": "5"}, False), ({"GROUP_RANK": "1"}, False)])
def test_rank_zero_from_any_launcher(env, zero, monkeypatch):
    for key in ("RANK", "LOCAL_RANK", "NODE_RANK", "GROUP_RANK", "SLURM_PROCID"):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert is_rank_zero() is zero
    assert is_rank_zero(distributed=False) is True  # a run of its own writes its own record


def test_devices_decide_the_strategy(monkeypatch):
    def run(devices: str, num_nodes: int = 1) -> RunConfig:
        return RunConfig(model="unet", data="mri", preset="smoke", seed=0, data_root=None, sections={},
                         devices=devices, num_nodes=num_nodes)

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_devices("auto") == 1 and resolve_devices("3") == 3
    assert not is_distributed(run("auto"))
    assert is_distributed(run("2")) and is_distributed(run("1", num_nodes=2))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 4)
    assert resolve_devices("auto") == 4 and is_distributed(run("auto"))  # all GPUs: DDP, chosen here
