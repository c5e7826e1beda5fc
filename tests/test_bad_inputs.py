"""The catalogue of bad inputs, through the command line: one line naming the culprit, the right exit code
(2 usage, 1 otherwise), no traceback, and nothing written or overwritten under the results folder.

Each case builds its bad input in a temporary folder and runs `python -m benchmark run` (or `data check`);
the readers' own tests check the same errors one level down. A few cases run in a real process.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import tifffile
from imageio import v3 as iio

from benchmark.cli import main
from tests.conftest import REPO

GARBAGE = b"this is not an image \x00\x01\x02" * 10


# -- bad inputs, each built under `root` -----------------------------------------------------------------------
def png(path: Path, array: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    iio.imwrite(path, array)


def noise(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


def nifti(path: Path, data: np.ndarray, affine: np.ndarray | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(nib.Nifti1Image(data.astype(np.float32), np.eye(4) if affine is None else affine), str(path))


def nir_pair(root: Path, name: str, a: np.ndarray, b: np.ndarray) -> None:
    png(root / "test" / "A" / f"{name}.png", a)
    png(root / "test" / "B" / f"{name}.png", b)


def missing_partner(root: Path) -> None:
    nir_pair(root, "p1", noise((32, 32)), noise((32, 32), 1))
    png(root / "test" / "A" / "p2.png", noise((32, 32), 2))


def size_mismatch(root: Path) -> None:
    nir_pair(root, "p1", noise((32, 32)), noise((40, 40), 1))


def corrupt_png(root: Path) -> None:
    png(root / "test" / "B" / "p1.png", noise((32, 32)))
    (root / "test" / "A").mkdir(parents=True)
    (root / "test" / "A" / "p1.png").write_bytes(GARBAGE)


def corrupt_tiff(root: Path) -> None:
    root.mkdir(parents=True, exist_ok=True)
    (root / "cells.tif").write_bytes(b"II*\x00" + GARBAGE)  # a TIFF signature, then nonsense


def nonfinite_tiff(root: Path) -> None:
    root.mkdir(parents=True, exist_ok=True)
    image = np.random.default_rng(0).random((32, 32)).astype(np.float32)
    image[3, 4] = np.nan
    tifffile.imwrite(root / "cells.tif", image)


def five_channels(root: Path) -> None:
    root.mkdir(parents=True, exist_ok=True)
    tifffile.imwrite(root / "cells.tif", noise((32, 32, 5)))


def empty_folder(root: Path) -> None:
    root.mkdir(parents=True, exist_ok=True)


def corrupt_nifti(root: Path) -> None:
    root.mkdir(parents=True, exist_ok=True)
    for name in ("s1", "s2", "s3"):
        (root / f"{name}_T1.nii.gz").write_bytes(GARBAGE)


def paired_mri(root: Path, low_affine: np.ndarray | None = None, low_shape: tuple[int, ...] = (16, 16, 4)) -> None:
    """Three subjects in the paired layout; subject s1's 64 mT volume gets `low_affine` / `low_shape`."""
    rng = np.random.default_rng(0)
    for name in ("s1", "s2", "s3"):
        nifti(root / name / "3T" / f"{name}_T1.nii.gz", rng.random((16, 16, 4)) + 0.1)
        shape = low_shape if name == "s1" else (16, 16, 4)
        nifti(root / name / "64mT" / f"{name}_T1.nii.gz", rng.random(shape) + 0.1,
              low_affine if name == "s1" else None)


def affine_mismatch(root: Path) -> None:
    shifted = np.eye(4)
    shifted[0, 3] = 5.0
    paired_mri(root, low_affine=shifted)


def four_d_nifti(root: Path) -> None:
    paired_mri(root, low_shape=(16, 16, 4, 2))


# (case id, dataset, how to build the bad root, exit code, what the one line must say)
DATA_CASES: list[tuple[str, str, Callable[[Path], None], int, list[str]]] = [
    ("empty-folder", "fluorescence", empty_folder, 1, ["no PNG/TIFF images in the folder"]),
    ("empty-mri-folder", "mri", empty_folder, 1, ["mri: no NIfTI volumes under", "expected <subject>/"]),
    ("image-without-partner", "nir", missing_partner, 1, ["p2.png: no partner in", "test/B"]),
    ("size-mismatch", "nir", size_mismatch, 1, ["B/p1.png: size (40, 40) differs from its partner"]),
    ("corrupt-png", "nir", corrupt_png, 1, ["A/p1.png: cannot decode image"]),
    ("corrupt-tiff", "fluorescence", corrupt_tiff, 1, ["cells.tif: cannot decode image"]),
    ("corrupt-nifti", "mri", corrupt_nifti, 1, ["s1_T1.nii.gz: cannot read NIfTI file"]),
    ("nifti-affine-mismatch", "mri", affine_mismatch, 1, ["subject s1: 64mT and 3T T1 volumes differ in affine"]),
    ("nifti-4d", "mri", four_d_nifti, 1, ["s1_T1.nii.gz: expected a 3-D volume, got shape (16, 16, 4, 2)"]),
    ("non-finite-values", "fluorescence", nonfinite_tiff, 1, ["cells.tif: image holds non-finite values"]),
    ("wrong-channel-count", "fluorescence", five_channels, 1,
     ["cells.tif: unsupported image shape (32, 32, 5)", "expected a 2-D grey image or RGB/RGBA"]),
]

# (case id, arguments after `run`, exit code, what the one line must say)
USAGE_CASES: list[tuple[str, list[str], int, list[str]]] = [
    ("unknown-model", ["--model", "unet2", "--data", "mri"], 2, ["--model 'unet2' is not one of all, ", "unet"]),
    ("unknown-dataset", ["--model", "unet", "--data", "mr"], 2, ["--data 'mr' is not one of all, ", "mri"]),
    ("bad-set-key", ["--model", "unet", "--data", "mri", "--set", "model.learning_rate=1e-3"], 2,
     ["model.learning_rate: unknown option for model 'unet'", "lr"]),
    ("bad-set-section", ["--model", "unet", "--data", "mri", "--set", "optim.lr=1"], 2,
     ["unknown section 'optim'"]),
    ("wrong-value-type", ["--model", "unet", "--data", "mri", "--set", "model.lr=fast"], 2,
     ["model.lr='fast': expected a number > 0"]),
    ("wrong-trainer-type", ["--model", "unet", "--data", "mri", "--set", "trainer.max_epochs=two"], 2,
     ["trainer.max_epochs='two': expected an integer > 0"]),
    ("negative-runner-option", ["--model", "unet", "--data", "mri", "--set", "trainer.max_nonfinite_steps=-1"],
     2, ["trainer.max_nonfinite_steps=-1: expected an integer >= 0"]),
    ("missing-data-root", ["--model", "unet", "--data", "mri", "--data-root", "/nonexistent/i2i"], 1,
     ["--data-root /nonexistent/i2i does not exist or is not a folder"]),
]


# -- what must hold for every case -----------------------------------------------------------------------------
@pytest.fixture()
def populated(results_dir: Path) -> Path:
    """A results folder that already holds a record and a leaderboard: a bad input must not touch them."""
    old = results_dir / "runs" / "mri" / "unet" / "smoke" / "20200101-000000-seed0-aaaaaa"
    old.mkdir(parents=True)
    (old / "metrics.json").write_text(json.dumps({"status": "complete", "model": "unet"}))
    (results_dir / "LEADERBOARD.md").write_text("# old leaderboard\n")
    return results_dir


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def check_one_line(err: str, code: int, expected_code: int, fragments: list[str]) -> None:
    assert code == expected_code, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


@pytest.mark.parametrize("case, data, build, code, fragments", DATA_CASES, ids=[c[0] for c in DATA_CASES])
@pytest.mark.parametrize("command", ["run", "check"])
def test_bad_data(case, data, build, code, fragments, command, tmp_path, populated, capsys):
    root = tmp_path / "data"
    build(root)
    before = snapshot(populated)
    if command == "run":
        argv = ["run", "--model", "unet", "--data", data, "--preset", "smoke", "--data-root", str(root)]
    else:
        argv = ["data", "check", "--data", data, "--data-root", str(root)]
    result = main(argv)
    check_one_line(capsys.readouterr().err, result, code, fragments)
    assert snapshot(populated) == before  # nothing written, nothing overwritten


@pytest.mark.parametrize("case, args, code, fragments", USAGE_CASES, ids=[c[0] for c in USAGE_CASES])
def test_bad_usage(case, args, code, fragments, populated, capsys):
    before = snapshot(populated)
    result = main(["run", *args, "--preset", "smoke"])
    check_one_line(capsys.readouterr().err, result, code, fragments)
    assert snapshot(populated) == before


def test_data_check_of_a_missing_root(capsys):
    result = main(["data", "check", "--data", "nir", "--data-root", "/nonexistent/i2i"])
    check_one_line(capsys.readouterr().err, result, 1, ["--data-root /nonexistent/i2i does not exist"])


def test_results_folder_that_cannot_be_written(tmp_path, monkeypatch, capsys):
    """Tests run as root, where permissions stop nothing: a path through a regular file cannot be created."""
    blocker = tmp_path / "file.txt"
    blocker.write_text("not a folder")
    monkeypatch.setenv("RESULTS_DIR", str(blocker / "sub"))
    for argv in (["run", "--model", "identity,unet", "--data", "mri", "--preset", "smoke"], ["leaderboard"]):
        result = main(argv)
        check_one_line(capsys.readouterr().err, result, 1,
                       [f"results directory {blocker / 'sub'} is not writable (Not a directory)", "RESULTS_DIR"])
    assert blocker.read_text() == "not a folder"


# -- in real processes -----------------------------------------------------------------------------------------
def _process(module: str, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", module, *args], check=False, cwd=REPO, capture_output=True,
                          text=True, timeout=300, env={**os.environ, **(env or {})})


def test_corrupt_nifti_in_a_real_process(tmp_path, populated):
    root = tmp_path / "data"
    corrupt_nifti(root)
    before = snapshot(populated)
    done = _process("benchmark", "run", "--model", "unet", "--data", "mri", "--preset", "smoke",
                    "--data-root", str(root))
    check_one_line(done.stderr, done.returncode, 1, ["s1_T1.nii.gz: cannot read NIfTI file"])
    assert done.stdout == "" and snapshot(populated) == before


def test_unwritable_results_in_a_real_process(tmp_path):
    blocker = tmp_path / "file.txt"
    blocker.write_text("")
    done = _process("benchmark", "run", "--model", "identity", "--data", "mri", "--preset", "smoke",
                    env={"RESULTS_DIR": str(blocker / "sub")})
    check_one_line(done.stderr, done.returncode, 1, ["is not writable (Not a directory)"])


def test_invalid_storage_url_for_a_sweep(tmp_path):
    pytest.importorskip("sweeps.cli")
    done = _process("sweeps", "run", "--model", "unet", "--data", "mri", "--trials", "1", "--storage",
                    "notaurl://x", env={"RESULTS_DIR": str(tmp_path / "results")})
    check_one_line(done.stderr, done.returncode, 2, ["--storage notaurl://x: unsupported scheme 'notaurl'"])
    assert not (tmp_path / "results").exists()


# -- configuration files, options and values, each before anything is written ----------------------------------
CONFIG_FILES: dict[str, bytes] = {
    "binary.yaml": b"\x00\x01\x02\xff\xfe binary",
    "latin1.yaml": "model:\n  lr: 1e-3 # caf\u00e9\n".encode("latin-1"),
    "section.yaml": b"optim:\n  lr: 1\n",
    "notmap.yaml": b"model: 3\n",
    "list.yaml": b"- a\n- b\n",
    "broken.yaml": b"model: {lr: [1\n",
    "duplicate-key.yaml": b"model:\n  lr: 1.0e-3\n  lr: 2.0e-3\n",
    "duplicate-section.yaml": b"model:\n  lr: 1\ndata:\n  crop_size: 16\nmodel:\n  lr: 2\n",
    "zero-lr.yaml": b"model:\n  lr: 0\n",
}
RUN = ["run", "--model", "unet", "--data", "mri", "--preset", "smoke"]
CGAN = ["run", "--model", "cgan", "--data", "mri", "--preset", "smoke"]
FIGAN = ["run", "--model", "figan-tg", "--data", "fluorescence", "--preset", "smoke"]

# (case id, argv with {files} for the folder of CONFIG_FILES, exit code, what the one line must say)
OPTION_CASES: list[tuple[str, list[str], int, list[str]]] = [
    ("config-is-a-folder", [*RUN, "--config", "{files}"], 2, ["is a folder, expected a YAML file"]),
    ("config-missing", [*RUN, "--config", "{files}/nope.yaml"], 2, ["nope.yaml does not exist"]),
    ("config-binary", [*RUN, "--config", "{files}/binary.yaml"], 2, ["binary.yaml is not UTF-8 text"]),
    ("config-not-utf8", [*RUN, "--config", "{files}/latin1.yaml"], 2, ["latin1.yaml is not UTF-8 text"]),
    ("config-unknown-section", [*RUN, "--config", "{files}/section.yaml"], 2,
     ["section.yaml: unknown section 'optim'", "valid: run, model"]),
    ("config-section-not-a-mapping", [*RUN, "--config", "{files}/notmap.yaml"], 2,
     ["notmap.yaml: section 'model' must be a mapping, got int"]),
    ("config-top-level-list", [*RUN, "--config", "{files}/list.yaml"], 2,
     ["list.yaml must hold a mapping of sections, got list"]),
    ("config-invalid-yaml", [*RUN, "--config", "{files}/broken.yaml"], 2, ["broken.yaml is not valid YAML"]),
    ("config-duplicate-key", [*RUN, "--config", "{files}/duplicate-key.yaml"], 2,
     ["duplicate-key.yaml is not valid YAML: duplicate key 'lr' (line 3)"]),
    ("config-duplicate-section", [*RUN, "--config", "{files}/duplicate-section.yaml"], 2,
     ["duplicate key 'model' (line 5)"]),
    ("config-bad-value", [*RUN, "--config", "{files}/zero-lr.yaml"], 2, ["model.lr=0: expected a number > 0"]),
    ("set-empty-value", [*RUN, "--set", "model.lr="], 2, ["--set 'model.lr=': empty value"]),
    ("set-without-equals", [*RUN, "--set", "model.lr"], 2, ["--set 'model.lr': expected section.key=value"]),
    ("set-without-section", [*RUN, "--set", "lr=1"], 2, ["--set 'lr=1': expected section.key=value"]),
    ("zero-epochs", [*RUN, "--set", "trainer.max_epochs=0"], 2, ["trainer.max_epochs=0: expected an integer > 0"]),
    ("negative-epochs", [*RUN, "--set", "trainer.max_epochs=-3"], 2, ["trainer.max_epochs=-3: expected an integer"]),
    ("fractional-epochs", [*RUN, "--set", "trainer.max_epochs=1.5"], 2, ["trainer.max_epochs=1.5: expected an integer"]),
    ("zero-batch-size", [*RUN, "--set", "data.batch_size=0"], 2, ["data.batch_size=0: expected an integer > 0"]),
    ("negative-crop", [*RUN, "--set", "data.crop_size=-8"], 2, ["data.crop_size=-8: expected an integer > 0"]),
    ("crop-larger-than-the-images", [*RUN, "--set", "data.crop_size=512"], 2,
     ["data.crop_size=512 is larger than the smallest training image (32x32) of mri"]),
    ("crop-not-a-multiple-of-the-scale", ["run", "--model", "srgan", "--data", "fluorescence", "--preset", "smoke",
                                          "--set", "data.crop_size=30"], 2,
     ["data.crop_size=30 must be a multiple of the scale factor 4"]),
    ("negative-workers", [*RUN, "--set", "data.num_workers=-1"], 2, ["data.num_workers=-1: expected an integer >= 0"]),
    ("negative-lr", [*RUN, "--set", "model.lr=-1"], 2, ["model.lr=-1: expected a number > 0"]),
    ("nan-lr", [*RUN, "--set", "model.lr=nan"], 2, ["model.lr='nan': expected a number > 0"]),
    ("infinite-lr", [*RUN, "--set", "model.lr=inf"], 2, ["model.lr='inf': expected a number > 0"]),
    ("beta-out-of-range", [*CGAN, "--set", "model.beta1=1.5"], 2, ["model.beta1=1.5: expected a number in [0, 1]"]),
    ("unknown-choice", [*CGAN, "--set", "model.gan_mode=wgan"], 2, ["model.gan_mode='wgan': expected one of"]),
    ("infinite-loss-weight", [*CGAN, "--set", "model.lambda_l1=inf"], 2, ["model.lambda_l1='inf': expected a number"]),
    ("k-max-unknown-word", [*FIGAN, "--set", "model.k_max=quarter"], 2,
     ["model.k_max='quarter': expected an integer > 0 or one of 'half', 'full'"]),
    ("k-max-zero", [*FIGAN, "--set", "model.k_max=0"], 2, ["model.k_max=0: expected an integer > 0 or one of"]),
    ("unknown-precision", [*RUN, "--set", "trainer.precision=fp13"], 2, ["trainer.precision='fp13': expected one of"]),
    ("negative-checkpoint-interval", [*RUN, "--set", "trainer.checkpoint_every_n_batches=-2"], 2,
     ["trainer.checkpoint_every_n_batches=-2: expected an integer >= 0"]),
    ("misspelled-trainer-key", [*RUN, "--set", "trainer.max_epoch=2"], 2,
     ["trainer.max_epoch: unknown option for the trainer", "max_epochs"]),
    ("negative-seed", [*RUN, "--seed", "-1"], 2, ["--seed -1: expected an integer in [0, 4294967295]"]),
    ("seed-out-of-range", [*RUN, "--seed", str(2**40)], 2, ["--seed 1099511627776: expected an integer in [0,"]),
    ("seed-not-a-number", [*RUN, "--seed", "one"], 2, ["argument --seed: invalid int value: 'one'"]),
    ("zero-seeds", [*RUN, "--seeds", "0"], 2, ["--seeds 0: expected a count of at least 1"]),
    ("seed-and-seeds", [*RUN, "--seed", "1", "--seeds", "2"], 2, ["--seed and --seeds are exclusive"]),
    ("zero-devices", [*RUN, "--devices", "0"], 2, ["--devices '0': expected auto, a count >= 1"]),
    ("negative-devices", [*RUN, "--devices", "-2"], 2, ["--devices '-2': expected auto, a count >= 1"]),
    ("devices-word", [*RUN, "--devices", "gpu"], 2, ["--devices 'gpu': expected auto"]),
    ("devices-trailing-comma", [*RUN, "--devices", "1,"], 2, ["--devices '1,': expected auto"]),
    ("zero-nodes", [*RUN, "--num-nodes", "0"], 2, ["--num-nodes 0: expected an integer >= 1"]),
    ("nodes-not-a-number", [*RUN, "--num-nodes", "two"], 2, ["argument --num-nodes: invalid int value: 'two'"]),
    ("unknown-logger", [*RUN, "--logger", "tensorboard"], 2, ["--logger 'tensorboard' is not one of csv, wandb"]),
    ("unknown-preset", ["run", "--model", "unet", "--data", "mri", "--preset", "huge"], 2,
     ["--preset 'huge' is not one of smoke, quick, paper"]),
    ("empty-model-name", ["run", "--model", "", "--data", "mri"], 2, ["--model and --data are required"]),
    ("dotted-model-not-importable", ["run", "--model", "nosuchpkg.mod:Net", "--data", "mri", "--preset", "smoke"], 2,
     ["--model 'nosuchpkg.mod:Net': cannot import module 'nosuchpkg.mod'"]),
    ("dotted-model-not-a-model", ["run", "--model", "os.path:join", "--data", "mri", "--preset", "smoke"], 2,
     ["--model 'os.path:join': expected a subclass of models.base:TranslationModel"]),
    ("unknown-list-topic", ["list", "widgets"], 2, ["argument what: invalid choice: 'widgets'"]),
    ("check-of-an-unknown-dataset", ["data", "check", "--data", "xyz", "--data-root", "{files}"], 2,
     ["--data 'xyz' is not one of fluorescence, fmd, mri, nir"]),
    ("check-of-a-file-as-root", ["data", "check", "--data", "nir", "--data-root", "{files}/list.yaml"], 1,
     ["--data-root", "list.yaml does not exist or is not a folder"]),
]


@pytest.fixture()
def config_files(tmp_path: Path) -> Path:
    folder = tmp_path / "files"
    folder.mkdir()
    for name, content in CONFIG_FILES.items():
        (folder / name).write_bytes(content)
    return folder


@pytest.mark.parametrize("case, args, code, fragments", OPTION_CASES, ids=[c[0] for c in OPTION_CASES])
def test_bad_options_and_config_files(case, args, code, fragments, config_files, populated, capsys):
    before = snapshot(populated)
    result = main([a.replace("{files}", str(config_files)) for a in args])
    check_one_line(capsys.readouterr().err, result, code, [f.replace("{files}", str(config_files))
                                                           for f in fragments])
    assert snapshot(populated) == before


def test_a_device_list_on_a_machine_without_gpus(populated, capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has GPUs")
    before = snapshot(populated)
    result = main([*RUN, "--devices", "0,1"])
    check_one_line(capsys.readouterr().err, result, 2, ["--devices 0,1: a list names GPUs and none is visible"])
    assert snapshot(populated) == before


def non_utf8_name(root: Path) -> None:
    """A pair whose file name is not valid UTF-8 (a Latin-1 byte), beside a sound one."""
    nir_pair(root, "p1", noise((32, 32)), noise((32, 32), 1))
    for side in ("A", "B"):
        png(Path(os.fsdecode(bytes(root / "test" / side) + b"/p\xff2.png")), noise((32, 32), 2))


def tiny_images(root: Path) -> None:
    nir_pair(root, "p1", noise((8, 8)), noise((8, 8), 1))


MORE_DATA_CASES: list[tuple[str, str, Callable[[Path], None], int, list[str]]] = [
    ("file-name-not-utf8", "nir", non_utf8_name, 1, ["file name 'p\ufffd2' is not valid UTF-8: rename it"]),
    ("images-smaller-than-the-ssim-window", "nir", tiny_images, 1,
     ["nir: a test image under", "is 8x8, smaller than the 11x11 window of SSIM"]),
]


@pytest.mark.parametrize("case, data, build, code, fragments", MORE_DATA_CASES, ids=[c[0] for c in MORE_DATA_CASES])
@pytest.mark.parametrize("command", ["run", "check"])
def test_bad_data_found_before_training(case, data, build, code, fragments, command, tmp_path, populated, capsys):
    test_bad_data(case, data, build, code, fragments, command, tmp_path, populated, capsys)


# -- operating-system failures -----------------------------------------------------------------------------------
@pytest.fixture()
def tiny_disk(tmp_path: Path):
    """A 1 MiB tmpfs (tests run as root in CI containers; skipped where mounting is not permitted)."""
    folder = tmp_path / "tiny"
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(folder)], check=False,
                             capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode(errors='replace').strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=False)


def test_a_full_disk_says_no_space_left_and_keeps_what_was_written(tiny_disk, monkeypatch, capsys):
    monkeypatch.setenv("RESULTS_DIR", str(tiny_disk))
    old = tiny_disk / "runs" / "mri" / "unet" / "smoke" / "20200101-000000-seed0-aaaaaa"
    old.mkdir(parents=True)
    (old / "metrics.json").write_text(json.dumps({"status": "complete", "model": "unet"}))
    before = snapshot(tiny_disk)
    result = main([*RUN, "--no-leaderboard"])
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert result == 1 and "Traceback" not in err
    assert len(errors) == 1 and "no space left on " + str(tiny_disk) in errors[0], err[-2000:]
    assert {k: v for k, v in snapshot(tiny_disk).items() if k in before} == before
    (record,) = [json.loads(p.read_text()) for p in tiny_disk.glob("runs/*/*/*/seed0-*/metrics.json")]
    assert record["status"] == "interrupted" and "no space left on" in record["reason"]  # resumable


def test_a_read_only_results_folder_is_named(tiny_disk, monkeypatch, capsys):
    subprocess.run(["mount", "-o", "remount,ro", str(tiny_disk)], check=True)
    monkeypatch.setenv("RESULTS_DIR", str(tiny_disk))
    result = main([*RUN, "--no-leaderboard"])
    check_one_line(capsys.readouterr().err, result, 1,
                   [f"results directory {tiny_disk} is not writable (Read-only file system)"])
