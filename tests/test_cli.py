"""The command line: listing, and one clear line with the right exit code for each user mistake."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from benchmark.cli import main
from tests.conftest import REPO


def _cli(*args: str, env_results=None) -> subprocess.CompletedProcess:
    """A real process, to prove no traceback reaches the user."""
    return subprocess.run([sys.executable, "-m", "benchmark", *args], check=False, cwd=REPO, capture_output=True,
                          text=True, timeout=300)


def test_list_models_json_gives_paper_parameter_counts(capsys):
    assert main(["list", "models", "--json"]) == 0
    models = json.loads(capsys.readouterr().out)
    assert models["unet"]["parameters"]["generator"] == 54_407_809
    # LoHiResGAN's ResNet-9 with batch norm: CycleGAN's 11,365,633 (instance norm, conv biases) minus the
    # 5,248 biases of the normalised convolutions (64+128+256+9*2*256+128+64 channels) plus 2 x 5,248 affine.
    assert models["lohiresgan"]["parameters"] == {"generator": 11_365_633 + 5_248, "discriminator": 2_764_609}
    assert models["identity"]["trainable"] is False


def test_list_datasets_plain(capsys):
    assert main(["list", "datasets"]) == 0
    assert "mri" in capsys.readouterr().out


@pytest.mark.parametrize("args, code, fragment", [
    (["run", "--model", "nope", "--data", "mri"], 2, "--model 'nope' is not one of all, "),
    (["run", "--model", "unet", "--data", "mri,xyz"], 2, "--data 'xyz' is not one of all, "),
    (["run", "--model", "unet", "--data", "mri", "--preset", "fast"], 2, "--preset 'fast'"),
    (["run", "--model", "unet", "--data", "mri", "--set", "model.lrr=1"], 2, "model.lrr: unknown option"),
    (["run", "--model", "unet", "--data", "mri", "--data-root", "/nonexistent/folder"], 1, "--data-root"),
    (["run", "--model", "unet"], 2, "--data"),
    (["frobnicate"], 2, "invalid choice"),
])
def test_user_mistakes_give_one_line_and_exit_code(args, code, fragment, capsys, results_dir):
    assert main(args) == code
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and fragment in err and "\n" not in err
    assert not (results_dir / "runs").exists()  # nothing written


def test_no_traceback_in_a_real_process(results_dir):
    done = _cli("run", "--model", "nope", "--data", "mri")
    assert done.returncode == 2
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
