"""Sweeps, fast tier: a real 4-trial smoke study of figan-tg on fluorescence (one trial made to diverge), two
worker processes sharing one SQLite study, the journal heartbeat, exact-N accounting, password masking,
and best.yaml as a config file. Trials are real benchmark runs on tiny synthetic data."""
from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
import yaml
from optuna.trial import TrialState

from benchmark.config import build_config
from benchmark.run_config import RunRequest, prepare
from datamodules import DATASETS
from models import MODELS
from sweeps import accounting, heartbeat, report
from sweeps.cli import main
from sweeps.space import SearchSpace, available, k_max_value, load_space
from sweeps.storage import mask, parse
from tests.conftest import REPO

MODEL, DATA = "figan-tg", "fluorescence"
DIVERGE = "lr=1.0e+9"  # a real diverging setting: Adam at this rate makes the GAN's losses non-finite at once


def sweep_args(study: str, trials: int, *extra: str) -> list[str]:
    """The smoke preset: tiny synthetic data (32 px), perceptual terms fixed off (no ImageNet weights offline)."""
    return ["run", "--model", MODEL, "--data", DATA, "--preset", "smoke", "--trials", str(trials),
            "--study", study, *extra]


@pytest.fixture(scope="module")
def smoke(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One 4-trial study whose first trial (enqueued) diverges; shared by the tests below."""
    results = tmp_path_factory.mktemp("sweep") / "results"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RESULTS_DIR", str(results))
        code = main(sweep_args("smoke", 4, "--enqueue", DIVERGE))
        storage = parse(None)
        study = optuna.load_study(study_name="smoke", storage=storage.open(heartbeat_interval=None))
    return {"code": code, "results": results, "study": study, "folder": results / "sweeps" / "smoke",
            "storage": storage}


def test_smoke_study_completes_and_writes_every_output(smoke):
    assert smoke["code"] == 0
    trials = smoke["study"].get_trials()
    assert sum(t.state in accounting.DONE for t in trials) == 4
    assert all(t.state in accounting.DONE for t in trials)  # nothing failed, nothing left running
    folder = smoke["folder"]
    for name in ("trials.csv", "best.yaml", "summary.md", "summary.json", "history.png", "k_max.png"):
        assert (folder / name).is_file(), name
    with open(folder / "trials.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [int(r["number"]) for r in rows] == [0, 1, 2, 3]
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["counts"]["complete"] + summary["counts"]["pruned"] == 4
    best = summary["best"]
    assert best["values"]["val_psnr"] == max(t.value for t in trials if t.state == TrialState.COMPLETE)
    record = json.loads((Path(best["run_dir"]) / "metrics.json").read_text())
    assert record["status"] == "complete" and record["sweep"] == {"study": "smoke", "trial": best["trial"]}
    assert record["validation"]["psnr"] == pytest.approx(best["values"]["val_psnr"])
    assert summary["k_max"] and "Validation PSNR by k_max" in (folder / "summary.md").read_text()


def test_diverged_trial_is_pruned_with_its_reason(smoke):
    trial = smoke["study"].trials[0]  # the enqueued lr = 1e9
    assert trial.params["lr"] == 1.0e9
    assert trial.state == TrialState.PRUNED and trial.value is None
    assert trial.user_attrs["diverged"] is True
    assert trial.user_attrs["reason"].startswith("diverged: FloatingPointError")
    record = json.loads((Path(trial.user_attrs["run_dir"]) / "metrics.json").read_text())
    assert record["status"] == "failed" and record["reason"].startswith("FloatingPointError")
    assert "sweep" in record  # kept out of the leaderboard


def test_best_yaml_is_a_config_file(smoke):
    path = smoke["folder"] / "best.yaml"
    loaded = yaml.safe_load(path.read_text())
    assert set(loaded) == {"model", "data", "trainer"}
    config = build_config(MODEL, DATA, "smoke", MODELS[MODEL], DATASETS[DATA], config_file=str(path))
    best = smoke["study"].best_trial
    for key, value in best.params.items():
        if key == "k_max":
            assert config["model"]["k_max"] == k_max_value(value, 32)
        elif key in config["model"]:
            assert config["model"][key] == pytest.approx(value)
    assert config["model"]["gamma"] == 0 and config["model"]["eta"] == 0  # fixed by the preset, not sampled
    assert "gamma" not in best.params and "gamma: 0" in path.read_text()
    prepare(RunRequest(model=MODEL, data=DATA, preset="quick", config_file=str(path)))  # any preset takes it


def test_show_best_and_report(smoke, capsys, monkeypatch):
    monkeypatch.setenv("RESULTS_DIR", str(smoke["results"]))
    assert main(["show", "--study", "smoke"]) == 0
    out = capsys.readouterr().out
    assert "3 complete, 1 pruned, 0 failed" in out  # smoke trains one epoch: never pruned after its last
    assert main(["best", "--study", "smoke"]) == 0
    printed = yaml.safe_load(capsys.readouterr().out)
    assert printed == yaml.safe_load((smoke["folder"] / "best.yaml").read_text())
    (entry,) = report.summaries(smoke["results"])
    assert entry["study"] == "smoke" and entry["best"]["run_dir"] and entry["confirmations"] == []


def test_two_workers_share_one_sqlite_study_exactly(tmp_path):
    """Two worker processes, 3 trials: exactly 3 complete+pruned, distinct numbers, nothing extra trained."""
    env = {**os.environ, "RESULTS_DIR": str(tmp_path / "results")}
    done = subprocess.run([sys.executable, "-m", "sweeps", *sweep_args("pair", 3, "--workers", "2")], cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=600, check=False)
    logs = "\n".join(p.read_text()[-1500:] for p in (tmp_path / "results" / "sweeps" / "pair").glob("workers/*"))
    assert done.returncode == 0, (done.stdout[-1500:], done.stderr[-1500:], logs)
    storage = f"sqlite:///{tmp_path / 'results' / 'sweeps' / 'optuna.db'}"
    trials = optuna.load_study(study_name="pair", storage=storage).get_trials()
    seen = [(t.number, t.state.name, t.user_attrs.get("reason")) for t in trials]
    finished = [t for t in trials if t.state in accounting.DONE]
    assert len(finished) == 3 and len({t.number for t in finished}) == 3, seen
    extra = [t for t in trials if t not in finished]
    assert all(t.state == TrialState.FAIL and t.user_attrs["reason"].startswith("surplus") for t in extra), seen
    workers = {t.user_attrs["worker"] for t in finished}
    assert str(os.getpid()) not in {w.split(":")[1] for w in workers}  # trained by the worker processes
    runs = list((tmp_path / "results" / "runs" / DATA / MODEL / "smoke").iterdir())
    assert len(runs) == 3  # one run record per counted trial: a surplus trial never trains


def test_surplus_counts_lower_numbers_only():
    study = optuna.create_study()
    for value in (1.0, 2.0):
        study.add_trial(optuna.create_trial(value=value))
    running = study.ask()  # number 2, RUNNING
    assert not accounting.surplus(study, running.number, 3)
    later = study.ask()  # number 3: trials 0, 1 (complete) and 2 (running) already make 3
    assert accounting.surplus(study, later.number, 3)
    assert accounting.counts(study).done == 2 and accounting.counts(study).running == 2


def test_journal_heartbeat_fails_and_requeues_a_silent_trial(tmp_path):
    backend = parse(str(tmp_path / "study.log")).open()
    study = optuna.create_study(study_name="j", storage=backend)
    trial = study.ask()
    trial.suggest_float("lr", 1e-5, 1e-2, log=True)
    with heartbeat.beating(backend, trial._trial_id, interval=0.05):
        time.sleep(0.2)
    assert heartbeat.fail_stale(study, backend, grace=60) == []  # it beat just now
    backend.set_trial_system_attr(trial._trial_id, heartbeat.KEY, time.time() - 120)
    assert heartbeat.fail_stale(study, backend, grace=60) == [trial.number]
    states = [t.state for t in study.get_trials()]
    assert states == [TrialState.FAIL, TrialState.WAITING]
    retry = study.get_trials()[1]
    assert retry.params == study.get_trials()[0].params and retry.system_attrs["failed_trial"] == 0


def test_password_masking_everywhere(capsys):
    assert mask("postgresql://sweep:s3cr3t@db.example:5432/optuna") == "postgresql://sweep:***@db.example:5432/optuna"
    assert mask("mysql+pymysql://u:p%40ss@h/db?password=x&ssl=1") == "mysql+pymysql://u:***@h/db?password=***&ssl=1"
    assert mask("postgresql://sweep@db/optuna") == "postgresql://sweep@db/optuna"
    assert parse("postgres://u:hunter2@h/db").masked() == "postgresql://u:***@h/db"
    # A server that is not there: the one-line error names the storage masked, never the password.
    code = main(["show", "--study", "x", "--storage", "postgresql://sweep:hunter2@127.0.0.1:1/optuna"])
    err = capsys.readouterr().err
    assert code != 0 and "hunter2" not in err and "sweep:***@127.0.0.1" in err and err.count("\n") == 1


def test_storage_forms(tmp_path, monkeypatch):
    monkeypatch.setenv("RESULTS_DIR", str(tmp_path))
    assert parse(None).url == f"sqlite:///{tmp_path.resolve() / 'sweeps' / 'optuna.db'}"
    assert parse("journal:///shared/s.log").kind == "journal" and parse("shared/s.log").kind == "journal"
    assert parse("x.db").kind == "sqlite" and parse("postgresql://h/db").kind == "rdb"
    monkeypatch.setenv("SWEEPS_STORAGE", "mysql://u:p@h/db")
    assert parse(None).kind == "rdb"


@pytest.mark.parametrize("model", available())
def test_every_space_file_matches_its_model(model):
    space = load_space(model)
    space.check(MODELS[model], DATASETS[DATA])
    assert SearchSpace.from_dict(model, space.to_dict()).to_dict() == space.to_dict()


def test_k_max_fractions_of_the_crop():
    assert [k_max_value(f, 64) for f in ("1px", "1/8", "1/4", "1/2", "3/4", "full")] == \
        [1, 8, 16, "half", 48, "full"]


@pytest.mark.parametrize("args, fragment", [
    (["run", "--model", "identity", "--data", DATA], "not trained"),
    (["run", "--model", MODEL, "--data", DATA, "--sampler", "grid", "--trials", "5"], "variants x"),
    (["run", "--model", MODEL, "--data", DATA, "--sampler", "grid", "--set", "model.theta=2.0"], "conflicts"),
    (["run", "--model", "unet", "--data", "mri", "--set", "model.lr=0.001 model.depth=5"], "nothing to sample"),
    (["run", "--model", MODEL, "--data", DATA, "--objective", "ssim"], "--objective"),
    (["run", "--model", MODEL, "--data", DATA, "--storage", "redis://h"], "unsupported scheme"),
    (["run", "--model", MODEL, "--data", DATA, "--enqueue", "nope=1"], "--enqueue"),
    (["show", "--study", "none"], "no sweep storage"),
])
def test_user_mistakes_are_one_line(args, fragment, capsys, results_dir):
    assert main(args) in (1, 2)
    err = capsys.readouterr().err
    assert err.startswith("error: ") and fragment in err and err.count("\n") == 1
    assert not (results_dir / "runs").exists()


@pytest.mark.parametrize("record, outcome", [
    ({"status": "complete", "validation": {"psnr": float("nan")}}, "pruned"),
    ({"status": "complete", "validation": {"psnr": float("-inf")}}, "pruned"),
    ({"status": "failed", "reason": "FloatingPointError: training diverged: 11 steps"}, "pruned"),
    ({"status": "failed", "reason": "OutOfMemoryError: CUDA out of memory"}, "failed"),
    ({"status": "complete", "validation": {"psnr": None}}, "missing"),
    ({"status": "complete", "validation": {"psnr": 31.5}, "test": {"psnr": 30.0, "ssim": 0.9}}, "complete"),
])
def test_a_record_becomes_a_value_or_a_reason_never_nan(record, outcome):
    from sweeps.callbacks import ValidationHistory
    from sweeps.objective import MetricMissing, Objective, TrialFailed
    from sweeps.settings import SweepSettings

    settings = SweepSettings(model=MODEL, data=DATA, pruner="none", space=load_space(MODEL).to_dict())
    objective = Objective(settings, "unit", parse("x.db"))
    trial = optuna.create_study(direction="maximize").ask()
    config = prepare(RunRequest(model=MODEL, data=DATA, preset="smoke"))
    expected = {"pruned": optuna.TrialPruned, "failed": TrialFailed, "missing": MetricMissing}
    if outcome == "complete":
        assert objective.score(trial, config, {**record, "run_id": "r"}, None, ValidationHistory()) == 31.5
        assert trial.user_attrs["test_psnr"] == 30.0
        return
    with pytest.raises(expected[outcome]):
        objective.score(trial, config, {**record, "run_id": "r"}, None, ValidationHistory())
    if outcome != "missing":
        assert trial.user_attrs["reason"]
        assert trial.user_attrs.get("diverged", False) is (outcome == "pruned")


def test_workers_get_their_own_gpus():
    from sweeps.workers import gpu_slices

    assert gpu_slices(4, 1, ["0", "1", "2", "3"]) == ["0", "1", "2", "3"]
    assert gpu_slices(2, 2, ["4", "5", "6", "7"]) == ["4,5", "6,7"]  # inside an allocation's visible set
    assert gpu_slices(3, 1, ["0", "1"]) == ["0", "1", "0"]  # more workers than GPUs: shared round-robin
    assert gpu_slices(2, 1, []) == [None, None]  # CPU: nothing pinned
