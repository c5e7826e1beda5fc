"""One build path: complete typed configurations, runs repeated from their config.yaml, run identity,
`evaluate` that scores like `run`, and the import rule between the packages."""
from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
import yaml

from benchmark.cli import main
from benchmark.config import PRESETS, RESERVED, parameters
from benchmark.errors import UsageError
from benchmark.resume import claim
from benchmark.run_config import RunRequest, build_datamodule, derived, prepare
from datamodules import DATASETS
from models import MODELS

REPO = Path(__file__).resolve().parents[1]


def test_every_preset_model_and_dataset_configuration_builds():
    combinations = 0
    for preset in PRESETS:
        for model in MODELS:
            for data in DATASETS:
                config = prepare(RunRequest(model=model, data=data, preset=preset))
                assert set(config.sections["model"]) == set(parameters(MODELS[model])) - RESERVED["model"]
                combinations += 1
    assert combinations == len(PRESETS) * len(MODELS) * len(DATASETS) >= 156


def test_saved_configuration_holds_every_constructor_parameter():
    """Walks every registered model and dataset: each constructor argument is in config.yaml, the ones the
    runner supplies included (`derived` for the model's sizing, `run` for the data root and seed)."""
    datamodules = {}
    for data in [d for d in DATASETS if not getattr(DATASETS[d], "needs_root", False)]:
        config = prepare(RunRequest(model="identity", data=data, preset="smoke"))
        datamodules[data] = build_datamodule(config)
        saved = config.saved()
        assert set(parameters(DATASETS[data])) - {"root", "seed"} == set(saved["data"])
        assert {"data_root", "seed"} <= set(saved["run"])
    for model in MODELS:
        data = "fluorescence" if "scale" in parameters(MODELS[model]) else "mri"
        config = prepare(RunRequest(model=model, data=data, preset="smoke"))
        saved = yaml.safe_load(yaml.safe_dump(config.saved(derived(config, datamodules[data]))))
        assert set(parameters(MODELS[model])) == set(saved["model"]) | set(saved["derived"]), model
        assert set(saved["trainer"]) >= {"max_epochs", "precision", "checkpoint_every_n_batches"}


def test_a_run_repeated_from_its_config_yaml_gives_identical_test_metrics(results_dir):
    assert main(["run", "--model", "unet", "--data", "mri", "--preset", "smoke", "--no-leaderboard"]) == 0
    (first,) = results_dir.glob("runs/mri/unet/smoke/*/config.yaml")
    assert main(["run", "--config", str(first), "--fresh", "--no-leaderboard"]) == 0
    folders = sorted(first.parent.parent.iterdir())
    assert len(folders) == 2
    metrics = [json.loads((f / "metrics.json").read_text()) for f in folders]
    assert metrics[0]["status"] == metrics[1]["status"] == "complete"
    assert metrics[0]["test"] == metrics[1]["test"] and metrics[0]["digest"] == metrics[1]["digest"]


def test_a_complete_run_is_not_trained_again(results_dir, capsys):
    args = ["run", "--model", "identity", "--data", "nir", "--preset", "smoke", "--no-leaderboard"]
    assert main(args) == 0
    capsys.readouterr()
    assert main(args) == 0
    assert "already complete" in capsys.readouterr().out
    assert len(list(results_dir.glob("runs/nir/identity/smoke/*/metrics.json"))) == 1


def test_run_identity_is_the_experiment_not_how_it_executes(results_dir):
    base = RunRequest(model="unet", data="mri", preset="smoke")
    digest = prepare(base).digest
    for execution in ({"logger": "wandb"}, {"devices": "1"}, {"compile": True}, {"num_nodes": 2}):
        assert prepare(RunRequest(model="unet", data="mri", preset="smoke", **execution)).digest == digest
    for experiment in ({"seed": 1}, {"preset": "quick"}, {"overrides": ("model.lr=1e-3",)}):
        assert prepare(RunRequest(**{"model": "unet", "data": "mri", "preset": "smoke", **experiment})).digest != digest
    # a crashed csv run resumes in the same folder when rerun with wandb
    crashed = prepare(base)
    held = claim(crashed, resume=True)
    (held.folder / "config.yaml").write_text(yaml.safe_dump(crashed.saved()))
    (held.folder / "metrics.json").write_text(json.dumps({"status": "interrupted"}))
    held.release()
    again = claim(prepare(RunRequest(model="unet", data="mri", preset="smoke", logger="wandb")), resume=True)
    assert again.folder == held.folder and again.resumed
    again.release()


@pytest.mark.parametrize("text, fragment", [
    ("modle: {lr: 0.1}\n", "unknown section 'modle'"),
    ("model: {lrr: 0.1}\n", "model.lrr: unknown option"),
    ("model: [1, 2]\n", "section 'model' must be a mapping"),
])
def test_config_file_mistakes_are_named(tmp_path, text, fragment):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(UsageError, match=fragment):
        prepare(RunRequest(model="unet", data="mri", config_file=str(path)))


def test_execution_settings_are_checked_before_anything_is_written(results_dir):
    for bad, fragment in (({"seed": -1}, "--seed"), ({"seed": 2**32}, "--seed"), ({"devices": "two"}, "--devices"),
                          ({"devices": "0"}, "--devices"), ({"num_nodes": 0}, "--num-nodes"),
                          ({"logger": "tensorboard"}, "--logger")):
        with pytest.raises(UsageError, match=fragment):
            prepare(RunRequest(model="unet", data="mri", **bad))
    assert not results_dir.exists()


# -- evaluate scores like run -------------------------------------------------------------------------------
PAPER_TINY = ["trainer.max_epochs=1", "trainer.limit_train_batches=1", "trainer.limit_val_batches=1",
              "data.subjects=[1,1,1]", "data.slices_per_subject=2", "model.ngf=4", "model.depth=4"]


def test_evaluate_uses_the_runs_own_configuration(results_dir, capsys):
    """A paper-preset MRI run is scored at the run's 256 px, with the run's metric set (PIQE included)."""
    assert main(["run", "--model", "unet", "--data", "mri", "--preset", "paper", "--no-leaderboard",
                 "--set", " ".join(PAPER_TINY)]) == 0
    (run_metrics,) = results_dir.glob("runs/mri/unet/paper/*/metrics.json")
    checkpoint = run_metrics.parent / "checkpoints" / "best.ckpt"
    assert main(["evaluate", "--checkpoint", str(checkpoint)]) == 0
    (evaluation,) = results_dir.glob("evaluations/mri/unet/*/metrics.json")
    saved = yaml.safe_load((evaluation.parent / "config.yaml").read_text())
    assert saved["data"]["size"] == 256 and saved["run"]["preset"] == "paper"
    run, scored = json.loads(run_metrics.read_text()), json.loads(evaluation.read_text())
    assert set(scored["test"]) == set(run["test"]) and "piqe" in scored["test"]
    assert scored["test"] == pytest.approx(run["test"])  # the same test set, scored the same way


def _three_subjects(shared_data: Path, root: Path) -> Path:
    source = shared_data / "mri" / "highfield" / "IXI002"
    for subject in ("A01", "B02", "C03"):
        for kind in ("3T", "mask"):
            folder = root / subject / kind
            folder.mkdir(parents=True)
            (folder / f"{subject}_T1.nii.gz").symlink_to(source / kind / "IXI002_T1.nii.gz")
    return root


def test_evaluate_scores_every_subject_of_a_real_mri_folder(shared_data, results_dir, tmp_path):
    folder = _three_subjects(shared_data, tmp_path / "mri")
    assert main(["run", "--model", "unet", "--data", "mri", "--preset", "smoke", "--no-leaderboard"]) == 0
    (checkpoint,) = results_dir.glob("runs/mri/unet/smoke/*/checkpoints/best.ckpt")
    assert main(["evaluate", "--checkpoint", str(checkpoint), "--data-root", str(folder)]) == 0
    (evaluation,) = results_dir.glob("evaluations/mri/unet/*/metrics.json")
    result = json.loads(evaluation.read_text())
    assert result["volumes"] == 3 and result["data_source"] == str(folder)


def test_evaluate_refuses_model_options(results_dir, tmp_path, capsys):
    assert main(["run", "--model", "unet", "--data", "mri", "--preset", "smoke", "--no-leaderboard"]) == 0
    (checkpoint,) = results_dir.glob("runs/mri/unet/smoke/*/checkpoints/best.ckpt")
    capsys.readouterr()
    assert main(["evaluate", "--checkpoint", str(checkpoint), "--set", "model.lr=1"]) == 2
    assert "data.* options only" in capsys.readouterr().err


# -- the import rule ------------------------------------------------------------------------------------------
PROTOCOL_LEAVES = {"benchmark.errors", "benchmark.metrics", "benchmark.evaluation", "benchmark.registry",
                   "benchmark.option_types", "benchmark.piqe", "benchmark.ratios", "benchmark.volume_protocols",
                   "benchmark.morphometry"}


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names |= {f"{node.module}.{a.name}" for a in node.names if node.module == "benchmark"}
    return names


@pytest.mark.parametrize("package", ["models", "datamodules"])
def test_models_and_datamodules_import_only_protocol_leaves_of_benchmark(package):
    offenders = {}
    for path in sorted((REPO / package).rglob("*.py")):
        bad = {n for n in _imports(path) if (n == "benchmark" or n.startswith("benchmark."))
               and n != "benchmark" and n not in PROTOCOL_LEAVES}
        bad |= {n for n in _imports(path) if n.split(".")[0] in ("sweeps",)}
        if bad:
            offenders[str(path.relative_to(REPO))] = sorted(bad)
    assert not offenders, offenders


def test_protocol_leaves_import_nothing_above_them():
    for leaf in PROTOCOL_LEAVES:
        path = REPO / (leaf.replace(".", "/") + ".py")
        above = {n for n in _imports(path) if n.split(".")[0] in ("models", "datamodules", "sweeps")
                 or (n.startswith("benchmark.") and n not in PROTOCOL_LEAVES)}
        assert not above, (leaf, above)
