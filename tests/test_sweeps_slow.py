"""Sweeps, slow tier: a real PostgreSQL server shared by two workers, a worker killed with SIGKILL mid-trial
(PostgreSQL with Optuna's heartbeat; the journal file with ours), the paper's grid, the two-objective
Pareto mode and DDP inside a trial. PostgreSQL is Debian's package: installed with apt-get when missing
(as root), started on loopback in a temporary folder as the `postgres` user; psycopg2 comes from the
`slow` extra (`make test-all`)."""
from __future__ import annotations

import glob
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from sweeps import accounting
from sweeps.storage import parse
from tests import system_packages
from tests.conftest import REPO
from tests.test_sweeps import DATA, MODEL

pytestmark = pytest.mark.slow


# -- a PostgreSQL server for the module --------------------------------------------------------------------------
def _pg_bin() -> Path | None:
    found = shutil.which("initdb") or next(iter(sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))), None)
    return Path(found).parent if found else None


def _ensure_postgres() -> Path:
    system_packages.ensure(["postgresql"], lambda: _pg_bin() is not None, "PostgreSQL")
    found = _pg_bin()
    assert found is not None
    return found


def _as_postgres(cmd: list[str]) -> list[str]:
    """postgres refuses to run as root: root runs the server as the `postgres` user."""
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def postgres() -> Iterator[str]:
    """A URL with a password, `postgresql://sweep:<pw>@127.0.0.1:<port>/optuna`, on a throw-away server."""
    psycopg2 = pytest.importorskip("psycopg2", reason="pip install -e '.[slow]' (make test-all does)")
    bindir = _ensure_postgres()
    root = Path(tempfile.mkdtemp(prefix="sweeps-pg-"))
    data, admin_pw, user_pw, port = root / "data", secrets.token_hex(8), secrets.token_hex(8), _free_port()
    (root / "pw").write_text(admin_pw)
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(root / "pw", "postgres")
    subprocess.run(_as_postgres([str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=scram-sha-256",
                                 f"--pwfile={root / 'pw'}"]), check=True, capture_output=True, timeout=300)
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1"
    subprocess.run(_as_postgres([str(bindir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(root / "log"),
                                 "-w", "start"]), check=True, capture_output=True, timeout=120)
    try:
        admin = psycopg2.connect(host="127.0.0.1", port=port, user="postgres", password=admin_pw, dbname="postgres")
        admin.autocommit = True
        with admin.cursor() as cur:
            cur.execute(f"CREATE ROLE sweep LOGIN PASSWORD '{user_pw}'")
            cur.execute("CREATE DATABASE optuna OWNER sweep")
        admin.close()
        yield f"postgresql://sweep:{user_pw}@127.0.0.1:{port}/optuna"
    finally:
        subprocess.run(_as_postgres([str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"]),
                       capture_output=True, timeout=120, check=False)
        shutil.rmtree(root, ignore_errors=True)


# -- helpers ----------------------------------------------------------------------------------------------------
def _sweep(study: str, trials: int | None, *extra: str) -> list[str]:
    args = [sys.executable, "-m", "sweeps", "run", "--model", MODEL, "--data", DATA, "--preset", "smoke",
            "--study", study, *extra]
    return args + (["--trials", str(trials)] if trials is not None else [])


def _env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "RESULTS_DIR": str(tmp_path / "results")}


def _run(args: list[str], env: dict[str, str], timeout: int = 900) -> subprocess.CompletedProcess:
    done = subprocess.run(args, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    assert done.returncode == 0, (done.stdout[-2000:], done.stderr[-3000:])
    return done


def _files_containing(root: Path, secret: str) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and secret.encode() in p.read_bytes()]


# -- tests ------------------------------------------------------------------------------------------------------
def test_two_workers_on_postgres_never_leak_the_password(postgres, tmp_path):
    password = postgres.split(":")[2].split("@")[0]
    done = _run(_sweep("pg-pair", 3, "--workers", "2", "--storage", postgres), _env(tmp_path))
    assert password not in done.stdout + done.stderr and "sweep:***@127.0.0.1" in done.stdout
    study = optuna.load_study(study_name="pg-pair", storage=parse(postgres).open(heartbeat_interval=None))
    finished = [t for t in study.get_trials() if t.state in accounting.DONE]
    assert len(finished) == 3 and len({t.number for t in finished}) == 3
    assert _files_containing(tmp_path / "results", password) == []  # records, logs, summaries, trials.csv
    summary = json.loads((tmp_path / "results" / "sweeps" / "pg-pair" / "summary.json").read_text())
    assert summary["storage"].startswith("postgresql://sweep:***@")


@pytest.mark.parametrize("kind", ["postgres", "journal"])
def test_a_worker_killed_mid_trial_is_retried_and_the_study_completes(kind, request, tmp_path):
    """Worker A is SIGKILLed while training; worker B (another "node") fails A's trial by heartbeat,
    re-runs its parameters and the study still ends with exactly N complete+pruned trials."""
    storage = request.getfixturevalue("postgres") if kind == "postgres" else f"journal://{tmp_path / 'study.log'}"
    env, study_name, n = _env(tmp_path), f"kill-{kind}", 2
    args = _sweep(study_name, n, "--storage", storage, "--heartbeat-interval", "1", "--grace-period", "5",
                  "--set", "trainer.max_epochs=3")
    victim = subprocess.Popen(args, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    backend_url = storage if kind == "postgres" else None
    deadline, killed = time.time() + 600, None
    while time.time() < deadline and killed is None:
        time.sleep(0.5)
        assert victim.poll() is None, "worker A ended before it could be killed"
        try:
            study = _load(study_name, backend_url, tmp_path)
        except (KeyError, ValueError):
            continue  # not created yet
        for trial in study.get_trials(states=(TrialState.RUNNING,)):
            if trial.user_attrs.get("run_dir"):  # training has started
                victim.send_signal(signal.SIGKILL)
                victim.wait()
                killed = trial.number
    assert killed is not None, "worker A never started training"
    _run(args, env)  # worker B
    study = _load(study_name, backend_url, tmp_path)
    trials = study.get_trials()
    assert sum(t.state in accounting.DONE for t in trials) == n
    assert trials[killed].state == TrialState.FAIL
    retries = [t for t in trials if t.system_attrs.get("failed_trial") == killed]
    assert len(retries) == 1 and retries[0].state in accounting.DONE
    assert retries[0].params == trials[killed].params


def _load(name: str, url: str | None, tmp_path: Path) -> optuna.Study:
    storage = parse(url or str(tmp_path / "study.log")).open(heartbeat_interval=None)
    return optuna.load_study(study_name=name, storage=storage)


def test_grid_reproduces_the_papers_controlled_experiment(tmp_path):
    _run(_sweep("grid", None, "--sampler", "grid", "--seeds", "1"), _env(tmp_path))
    folder = tmp_path / "results" / "sweeps" / "grid"
    summary = json.loads((folder / "summary.json").read_text())
    assert [r["variant"] for r in summary["grid"]] == ["NOTG", "TG k_max=1", "TG k_max=N/2", "TG k_max=N"]
    assert all(r["seeds"] == [0] and r["test_psnr"] is not None for r in summary["grid"])
    table = (folder / "summary.md").read_text()
    assert "| TG k_max=N/2 | 1 |" in table and "±" in table
    configs = {json.loads((Path(t["run_dir"]) / "metrics.json").read_text())["notes"]["tg_loss"]
               for t in _trial_attrs(tmp_path, "grid")}
    assert configs == {"off (theta=0)", "theta=1, k_max=1", "theta=1, k_max=half", "theta=1, k_max=full"}


def _trial_attrs(tmp_path: Path, study: str) -> list[dict]:
    storage = f"sqlite:///{tmp_path / 'results' / 'sweeps' / 'optuna.db'}"
    return [t.user_attrs for t in optuna.load_study(study_name=study, storage=storage).get_trials()]


def test_two_objectives_give_a_pareto_front(tmp_path):
    _run(_sweep("pareto", 3, "--objective", "psnr,ssim"), _env(tmp_path))
    folder = tmp_path / "results" / "sweeps" / "pareto"
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["objectives"] == ["val_psnr", "val_ssim"] and summary["sampler"] == "nsga2"
    assert summary["pareto"] and all(len(p["values"]) == 2 for p in summary["pareto"])
    assert (folder / "pareto.png").is_file() and (folder / "best.yaml").is_file()


def test_ddp_inside_each_trial(tmp_path):
    """--devices 2 on CPU: the launched rank joins rank 0's trial; one run record per trial."""
    _run(_sweep("ddp", 2, "--devices", "2"), _env(tmp_path))
    trials = _trial_attrs(tmp_path, "ddp")
    assert len(trials) == 2 and all(t.get("status") == "complete" for t in trials)
    runs = list((tmp_path / "results" / "runs" / DATA / MODEL / "smoke").iterdir())
    assert sorted(str(r) for r in runs) == sorted(t["run_dir"] for t in trials)
