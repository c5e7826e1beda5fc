"""The model zoo: published parameter counts, GAN training steps, the image pool, FI-GAN variants and their
two-stage transfer learning, SRGAN's low-resolution input, perceptual notes and the classical baselines.

Small toy datasets defined here (blobs; noisy or x4 bicubic-degraded) keep the tests independent of the real
datasets' synthetic generators and fast on two CPU cores.
"""
from __future__ import annotations

import json
from typing import Any

import lightning as L
import numpy as np
import pytest
import torch

from benchmark.catalogue import describe_models
from benchmark.cli import main
from benchmark.config import build_config
from benchmark.errors import UsageError
from benchmark.metrics import METRICS
from datamodules import DATASETS
from datamodules.base import PairedDataModule, Split
from datamodules.forward.bicubic import degrade
from models import MODELS
from models.image_pool import ImagePool
from models.richardson_lucy import BICUBIC_SIGMA_PER_SCALE

SIZE = 32


def blobs(g: torch.Generator, size: int, count: int = 8) -> torch.Tensor:
    """(1, size, size) in [0, 1]: Gaussian spots of random place, width and brightness on black."""
    yy, xx = torch.meshgrid(torch.arange(size, dtype=torch.float32), torch.arange(size, dtype=torch.float32),
                            indexing="ij")
    image = torch.zeros(size, size)
    for _ in range(count):
        cy, cx = (torch.rand(2, generator=g) * size).tolist()
        width = 1.0 + 3.0 * float(torch.rand((), generator=g))
        spot = torch.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * width**2))
        image += float(torch.rand((), generator=g)) * spot
    return (image / image.max()).clamp(0, 1)[None]


class ToyDenoise(PairedDataModule):
    name, task, masked_metrics = "toy-denoise", "denoise", False

    def build_splits(self) -> dict[str, Split]:
        g = torch.Generator().manual_seed(self.seed)

        def split(prefix: str, n: int) -> Split:
            targets = [blobs(g, SIZE) for _ in range(n)]
            sources = [(t + 0.1 * torch.randn(t.shape, generator=g)).clamp(0, 1) for t in targets]
            return Split(sources, targets, [f"{prefix}{i}" for i in range(n)])

        return {"train": split("train", 8), "val": split("val", 2), "test": split("test", 2)}


class ToySR(PairedDataModule):
    name, task, scale, masked_metrics = "toy-sr", "super_resolve", 4, False

    def build_splits(self) -> dict[str, Split]:
        g = torch.Generator().manual_seed(self.seed + 1)

        def split(prefix: str, n: int) -> Split:
            targets = [blobs(g, SIZE) for _ in range(n)]
            pairs = [degrade(t, 4) for t in targets]
            return Split([p[0] for p in pairs], targets, [f"{prefix}{i}" for i in range(n)],
                         source_lr=[p[1] for p in pairs])

        return {"train": split("train", 8), "val": split("val", 2), "test": split("test", 2)}


@pytest.fixture()
def toy_data(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(DATASETS, "toy-denoise", ToyDenoise)
    monkeypatch.setitem(DATASETS, "toy-sr", ToySR)


def psnr(prediction: torch.Tensor, target: torch.Tensor) -> float:
    return float(METRICS["psnr"].fn(prediction.clamp(0, 1), target, None).mean())


# --------------------------------------------------------------------------- published sizes and defaults


def test_paper_parameter_counts():
    models = describe_models()
    assert models["cgan"]["parameters"] == {"generator": 54_407_809, "discriminator": 2_764_609}
    assert models["cyclegan"]["parameters"] == {"generator": 11_365_633, "generator_ba": 11_365_633,
                                                "discriminator_a": 2_762_689, "discriminator_b": 2_762_689}
    for name in ("nlmeans", "richardson-lucy"):
        assert models[name]["trainable"] is False and models[name]["parameters"] == {"generator": 0}
    # Perceptual networks are built lazily and are never counted as the model's networks.
    for name in ("srgan", "figan-tg", "figan-tgft"):
        assert set(models[name]["parameters"]) == {"generator", "discriminator"}


@pytest.mark.parametrize("name, theta, k_max", [("figan-notg", 0.0, "half"), ("figan-tg1", 1.0, 1),
                                                 ("figan-tg", 1.0, "half"), ("figan-tgn", 1.0, "full"),
                                                 ("figan-tgft", 1.0, "half")])
def test_figan_variant_defaults(name, theta, k_max):
    hp = MODELS[name](image_size=64).hparams
    assert (hp.theta, hp.k_max) == (theta, k_max)
    assert (hp.alpha, hp.beta, hp.gamma, hp.eta, hp.epsilon, hp.lr) == (1.0, 1.0, 8e-3, 1e-2, 1e-3, 1e-3)


@pytest.mark.parametrize("given, expected", [("1", 1), ("half", "half"), ("17", 17), ("full", "full")])
def test_figan_k_max_is_typed_from_its_annotation(given, expected):
    config = build_config("figan-tg", "fluorescence", "smoke", MODELS["figan-tg"], DATASETS["fluorescence"],
                          [f"model.k_max={given}"])
    assert config["model"]["k_max"] == expected and type(config["model"]["k_max"]) is type(expected)


@pytest.mark.parametrize("given", ["abc", "0", "-3", "1.5"])
def test_figan_k_max_nonsense_is_one_line_naming_parameter_and_type(given):
    with pytest.raises(UsageError) as info:
        build_config("figan-tg", "fluorescence", "smoke", MODELS["figan-tg"], DATASETS["fluorescence"],
                     [f"model.k_max={given}"])
    message = str(info.value)
    assert message.startswith("model.k_max=") and "an integer > 0 or one of 'half', 'full'" in message
    assert "\n" not in message


def test_cgan_scores_in_eval_mode_without_dropout():
    model = MODELS["cgan"](image_size=32, ngf=8, ndf=8).eval()
    x = torch.rand(1, 1, 48, 40)  # not a multiple of 2**depth: padded and cropped back
    first, second = model(x), model(x)
    assert first.shape == x.shape and torch.equal(first, second)


# --------------------------------------------------------------------------- GAN training steps

SMALL: dict[str, dict[str, Any]] = {
    "cgan": {"ngf": 8, "ndf": 8},
    "cyclegan": {"ngf": 8, "ndf": 8, "num_blocks": 1},
    "srgan": {"channels": 8, "num_blocks": 1, "ndf": 8, "d_dense": 16, "content_loss": "mse",
              "pretrain_fraction": 0.0},
    "figan-tg": {"channels": 8, "growth": 8, "num_blocks": 1, "layers_per_block": 2, "ndf": 8, "d_layers": 2,
                 "gamma": 0.0, "eta": 0.0},
    "lohiresgan": {"ngf": 8, "ndf": 8, "num_blocks": 1},
}


def snapshot(modules: list[torch.nn.Module]) -> list[torch.Tensor]:
    return [p.detach().clone() for m in modules for p in m.parameters()]


def changed(before: list[torch.Tensor], modules: list[torch.nn.Module]) -> bool:
    after = [p.detach() for m in modules for p in m.parameters()]
    return any(not torch.equal(a, b) for a, b in zip(before, after))


def one_step(model: L.LightningModule, datamodule: PairedDataModule) -> list[tuple[str, bool, bool]]:
    """Fit one batch; per optimizer step: (which, generators changed, discriminators changed)."""
    calls: list[tuple[str, bool, bool]] = []
    step = model._step

    def spy(optimizer, terms, prefix, size):
        gens, discs = model.generators(), model.discriminators()
        g_before, d_before = snapshot(gens), snapshot(discs)
        step(optimizer, terms, prefix, size)
        calls.append((prefix, changed(g_before, gens), changed(d_before, discs)))

    model._step = spy
    trainer = L.Trainer(max_epochs=1, limit_train_batches=1, limit_val_batches=0, logger=False,
                        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False)
    trainer.fit(model, datamodule=datamodule)
    return calls


@pytest.mark.parametrize("name", list(SMALL))
def test_gan_step_updates_each_network_only_in_its_own_step(name):
    L.seed_everything(0, verbose=False)
    datamodule = (ToySR if name == "srgan" else ToyDenoise)(batch_size=2)
    sizing = {"scale": 4} if name == "srgan" else {}
    model = MODELS[name](image_size=SIZE, **sizing, **SMALL[name])
    assert one_step(model, datamodule) == [("d", False, True), ("g", True, False)]


def test_srgan_pretraining_leaves_the_discriminator_alone():
    L.seed_everything(0, verbose=False)
    model = MODELS["srgan"](image_size=SIZE, scale=4, **{**SMALL["srgan"], "pretrain_fraction": 1.0})
    assert one_step(model, ToySR(batch_size=2)) == [("g", True, False)]


def test_srgan_takes_the_low_resolution_input():
    model = MODELS["srgan"](image_size=SIZE, scale=4, **SMALL["srgan"]).eval()
    batch = ToySR(batch_size=2).setup() or next(iter(ToySR(batch_size=2).test_dataloader()))
    assert model.input_key == "source_lr" and batch["source_lr"].shape[-1] == SIZE // 4
    prediction = model.predict_batch(batch)
    assert prediction.shape == batch["target"].shape and 0 <= prediction.min() and prediction.max() <= 1
    same_size = MODELS["srgan"](image_size=SIZE, scale=1, **SMALL["srgan"])
    assert same_size.input_key == "source" and len(same_size.generator.upsample) == 0


def test_cyclegan_trains_on_targets_of_another_batch():
    model = MODELS["cyclegan"](image_size=SIZE, **SMALL["cyclegan"])
    first, second = torch.rand(1, 1, 8, 8), torch.rand(1, 1, 8, 8)
    assert torch.equal(model._domain_b({"target": first}), first)  # the first step: nothing earlier yet
    assert torch.equal(model._domain_b({"target": second}), first)  # then always the previous batch's


# --------------------------------------------------------------------------- image pool


def test_image_pool_returns_past_images_half_of_the_time_once_full():
    torch.manual_seed(0)
    pool = ImagePool(50)
    first = torch.arange(50.0).view(50, 1, 1, 1)
    assert torch.equal(pool.query(first), first) and len(pool) == 50  # filling: every image comes back
    fresh = 100.0 + torch.arange(2000.0).view(2000, 1, 1, 1)
    out = pool.query(fresh)
    past = out != fresh  # an earlier image (from the first batch or an earlier row of this one)
    assert out.shape == fresh.shape and 0.45 < float(past.float().mean()) < 0.55
    assert bool((out[past] < fresh[past]).all())  # what comes back is always older than what it replaces
    assert len(pool) == 50 and torch.equal(ImagePool(0).query(fresh), fresh)


# --------------------------------------------------------------------------- perceptual terms are never silen


def test_perceptual_terms_are_stated_in_the_notes():
    off = MODELS["figan-tg"](image_size=64, gamma=0.0, eta=0.0)
    assert off.record_notes()["perceptual"] == "off (gamma=eta=0)"
    assert MODELS["srgan"](content_loss="mse").record_notes()["perceptual"] == "off (content_loss=mse)"
    vgg_only = MODELS["figan-tg"](image_size=64, eta=0.0, perceptual_weights="random")
    vgg_only.setup("fit")
    notes = vgg_only.record_notes()["perceptual_weights"]
    assert notes == {"vgg16": "random", "resnet152": "off (eta=0)"} and vgg_only.resnet_loss is None
    srgan = MODELS["srgan"](perceptual_weights="random")
    srgan.setup("fit")
    assert srgan.record_notes()["perceptual_weights"] == "random"
    assert "content" not in dict(srgan.named_children()) or not list(srgan.content.parameters())


# --------------------------------------------------------------------------- two-stage FI-GAN (TGFT)


def test_tgft_runs_both_stages_and_records_them(toy_data, results_dir):
    code = main(["run", "--model", "figan-tgft", "--data", "toy-denoise", "--preset", "smoke",
                 "--no-leaderboard", "--set", "model.pretrain_data=toy-sr"])
    assert code == 0
    (path,) = results_dir.glob("runs/toy-denoise/figan-tgft/smoke/*/metrics.json")
    record = json.loads(path.read_text())
    assert record["status"] == "complete", record.get("reason")
    stages = record["stages"]
    assert [s["name"] for s in stages] == ["pretrain", "finetune"]
    assert [s["data_source"] for s in stages] == ["toy-sr:synthetic", "toy-denoise:synthetic"]
    assert all(s["epochs"] == 1 and s["best_val_psnr"] is not None and s["train_seconds"] > 0 for s in stages)
    assert record["efficiency"]["train_seconds"] == pytest.approx(sum(s["train_seconds"] for s in stages))
    assert (path.parent / "stages" / "pretrain" / "checkpoints").is_dir()
    assert record["notes"]["perceptual"] == "off (gamma=eta=0)"  # the smoke preset turns both stages' off


def test_tgft_stages_follow_the_paper(monkeypatch):
    monkeypatch.setenv("PRETRAIN_ROOT", "/data/natural")
    pretrain, finetune = MODELS["figan-tgft"](image_size=64).training_stages()
    assert pretrain.dataset == "fluorescence" and pretrain.root == "/data/natural"
    assert pretrain.data == {"crop_size": 64, "batch_size": 64} and pretrain.hparams["lr"] == 1e-3
    assert finetune.dataset is None and finetune.data == {"crop_size": 32, "batch_size": 64}
    assert finetune.hparams == {"alpha": 10.0, "beta": 10.0, "gamma": 8.0, "eta": 1.0, "epsilon": 1.0,
                                "theta": 10.0, "lr": 1e-6}
    assert finetune.early_stopping_patience == 10


def test_unknown_pretraining_dataset_fails_before_anything_is_written(toy_data, results_dir, capsys):
    code = main(["run", "--model", "figan-tgft", "--data", "toy-denoise", "--preset", "smoke",
                 "--no-leaderboard", "--set", "model.pretrain_data=imagenet"])
    assert code == 2 and "imagenet" in capsys.readouterr().err
    assert not list(results_dir.glob("runs/*/*/*/*/metrics.json"))


# --------------------------------------------------------------------------- classical baselines


def test_bicubic_psf_matches_the_forward_model():
    """The documented Gaussian halves its MTF where the phase-averaged x4 bicubic pipeline's MTF halves."""
    size, scale, accumulated = 64, 4, torch.zeros(64, 64)
    for dy in range(scale):
        for dx in range(scale):
            impulse = torch.full((1, 1, size, size), 0.5)
            impulse[..., 32 + dy, 32 + dx] += 0.4  # on grey, so negative lobes survive the [0, 1] clip
            blurred = (degrade(impulse, scale)[0][0, 0] - 0.5) / 0.4
            accumulated += torch.roll(blurred, (-dy, -dx), (0, 1))
    line_spread = (accumulated / scale**2).double().sum(0).numpy()
    mtf = np.abs(np.fft.rfft(np.roll(line_spread, -32)))
    freqs = np.fft.rfftfreq(size)
    below = int(np.argmax(mtf < 0.5))  # first bin under one half; interpolate with the bin before
    f50 = np.interp(0.5, mtf[below - 1 : below + 1][::-1], freqs[below - 1 : below + 1][::-1])
    sigma = np.sqrt(np.log(2) / 2) / (np.pi * f50)
    assert abs(sigma - BICUBIC_SIGMA_PER_SCALE * scale) < 0.03


def test_richardson_lucy_sharpens_bicubic_x4_input():
    g = torch.Generator().manual_seed(3)
    target = torch.stack([blobs(g, 96, 40) for _ in range(3)])
    source, _ = degrade(target, 4)
    gain = psnr(MODELS["richardson-lucy"](scale=4)(source), target) - psnr(source, target)
    assert 0.3 < gain < 8.0
    nearly_identity = MODELS["richardson-lucy"](scale=1)(source)
    assert abs(psnr(nearly_identity, target) - psnr(source, target)) < 1.0


def test_nlmeans_denoises():
    g = torch.Generator().manual_seed(4)
    target = torch.stack([blobs(g, 96, 40) for _ in range(3)])
    noisy = (target + 0.08 * torch.randn(target.shape, generator=g)).clamp(0, 1)
    gain = psnr(MODELS["nlmeans"]()(noisy), target) - psnr(noisy, target)
    assert 3.0 < gain < 20.0
    assert torch.equal(MODELS["nlmeans"]()(target * 0 + 0.5), target * 0 + 0.5)  # no noise: left alone
