"""A real SLURM cluster (slow tier): a one-node cluster on loopback in a temporary folder runs a smoke matrix
as a job array with its dependent leaderboard job, a task pre-empted mid-training that is requeued and
resumes from its checkpoint, and a two-worker sweep as an array sharing a journal storage.

Debian's packages: slurmctld, slurmd and slurmdbd (with MariaDB, so `sacct`, which submitit asks for job
states, works as on a production cluster), and munge for authentication; installed with apt-get when
missing (as root). Every daemon runs as root in the foreground from the temporary folder, with its own
configuration, ports, sockets and state: nothing under /etc or /run is used or changed.
"""
from __future__ import annotations

import json
import os
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

from sweeps import accounting
from sweeps.storage import parse
from tests import system_packages
from tests.conftest import REPO
from tests.test_sweeps import DATA, MODEL

pytestmark = pytest.mark.slow

PACKAGES = ["slurm-wlm", "slurmdbd", "munge", "mariadb-server"]
DAEMONS = ("munged", "mariadbd", "mariadb-install-db", "slurmdbd", "slurmctld", "slurmd", "sacctmgr")
SLURM = "timeout_min=10 cpus_per_task=1"


def _program(name: str) -> str | None:
    """Where a daemon or client is: on PATH, or in /usr/sbin (not on every PATH)."""
    return shutil.which(name) or (str(Path("/usr/sbin", name)) if Path("/usr/sbin", name).exists() else None)


def _installed() -> bool:
    return all(_program(name) for name in DAEMONS)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(check, what: str, log: Path | None = None, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.5)
    tail = log.read_text(errors="replace")[-3000:] if log is not None and log.exists() else ""
    raise AssertionError(f"{what} did not come up within {timeout:.0f} s\n{tail}")


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


class Cluster:
    """The daemons of a one-node cluster; `env` is what its clients (sbatch, squeue, sacct) need."""

    def __init__(self, root: Path) -> None:
        self.root, self.processes = root, []
        self.host = socket.gethostname()
        self.ports = {name: _free_port() for name in ("db", "dbd", "ctld", "d")}
        path = os.environ.get("PATH", "")
        self.env = {**os.environ, "SLURM_CONF": str(root / "slurm.conf"),
                    "PATH": path if "/usr/sbin" in path.split(":") else f"{path}:/usr/sbin"}

    def start(self, name: str, command: list[str]) -> None:
        log = open(self.root / "log" / f"{name}.out", "wb")  # noqa: SIM115 - open for the daemon's life
        self.processes.append(subprocess.Popen([_program(command[0]) or command[0], *command[1:]], stdout=log,
                                               stderr=subprocess.STDOUT, env=self.env, cwd=self.root))

    def write_configuration(self) -> None:
        r, p = self.root, self.ports
        munge = r / "munge" / "munge.sock"
        common = f"AuthType=auth/munge\nAuthInfo=socket={munge}\n"
        (r / "slurm.conf").write_text(
            f"ClusterName=i2itest\nSlurmctldHost={self.host}(127.0.0.1)\nSlurmctldPort={p['ctld']}\n"
            f"SlurmdPort={p['d']}\nSlurmUser=root\nSlurmdUser=root\n{common}CredType=cred/munge\n"
            f"StateSaveLocation={r}/state\nSlurmdSpoolDir={r}/spool\nSlurmctldPidFile={r}/slurmctld.pid\n"
            f"SlurmdPidFile={r}/slurmd.pid\nSlurmctldLogFile={r}/log/slurmctld.log\n"
            f"SlurmdLogFile={r}/log/slurmd.log\nProctrackType=proctrack/linuxproc\nTaskPlugin=task/none\n"
            "SelectType=select/cons_tres\nSelectTypeParameters=CR_Core\nSchedulerType=sched/backfill\n"
            "AccountingStorageType=accounting_storage/slurmdbd\nAccountingStorageHost=127.0.0.1\n"
            f"AccountingStoragePort={p['dbd']}\nAccountingStoragePass={munge}\n"
            "JobAcctGatherType=jobacct_gather/none\nMpiDefault=none\nReturnToService=2\n"
            f"NodeName={self.host} NodeAddr=127.0.0.1 CPUs={os.cpu_count()} State=UNKNOWN\n"
            f"PartitionName=debug Nodes={self.host} Default=YES MaxTime=INFINITE State=UP\n")
        dbd = r / "slurmdbd.conf"  # read from beside slurm.conf; slurmdbd wants it private
        dbd.write_text(f"{common}DbdAddr=127.0.0.1\nDbdHost={self.host}\nDbdPort={p['dbd']}\nSlurmUser=root\n"
                       "StorageType=accounting_storage/mysql\nStorageHost=127.0.0.1\n"
                       f"StoragePort={p['db']}\nStorageUser=root\nStorageLoc=slurm_acct_db\n"
                       f"PidFile={r}/slurmdbd.pid\nLogFile={r}/log/slurmdbd.log\n")
        dbd.chmod(0o600)

    def up(self) -> None:
        r, p = self.root, self.ports
        for sub in ("munge", "state", "spool", "log", "db"):
            (r / sub).mkdir()
        (r / "munge").chmod(0o700)
        key = r / "munge" / "munge.key"
        key.write_bytes(os.urandom(1024))
        key.chmod(0o600)
        self.write_configuration()
        self.start("munged", ["munged", "-F", "-f", f"--key-file={key}", f"--socket={r}/munge/munge.sock",
                              f"--pid-file={r}/munge/munged.pid", f"--log-file={r}/log/munged.log",
                              f"--seed-file={r}/munge/seed"])
        _wait_for(lambda: (r / "munge" / "munge.sock").exists(), "munged", r / "log" / "munged.out")
        install = subprocess.run([_program("mariadb-install-db") or "mariadb-install-db", f"--datadir={r}/db",
                                  "--user=root", "--skip-test-db"],
                                 capture_output=True, text=True, timeout=300, check=False)
        assert install.returncode == 0, install.stderr[-2000:]
        self.start("mariadbd", ["mariadbd", f"--datadir={r}/db", f"--socket={r}/db.sock", f"--port={p['db']}",
                                "--bind-address=127.0.0.1", "--user=root", "--skip-grant-tables",
                                f"--pid-file={r}/db.pid"])
        _wait_for(lambda: _listening(p["db"]), "mariadbd", r / "log" / "mariadbd.out")
        self.start("slurmdbd", ["slurmdbd", "-D"])
        _wait_for(lambda: _listening(p["dbd"]), "slurmdbd", r / "log" / "slurmdbd.log")
        _wait_for(lambda: self.client(["sacctmgr", "-i", "add", "cluster", "i2itest"]).returncode == 0,
                  "sacctmgr add cluster", r / "log" / "slurmdbd.log", timeout=60)
        self.start("slurmctld", ["slurmctld", "-D", "-i"])
        self.start("slurmd", ["slurmd", "-D"])
        _wait_for(lambda: self.client(["sinfo", "-h", "-o", "%T"]).stdout.strip() == "idle",
                  "an idle node", r / "log" / "slurmctld.log")

    def client(self, command: list[str]) -> subprocess.CompletedProcess:
        return subprocess.run(command, capture_output=True, text=True, env=self.env, timeout=60, check=False)

    def down(self) -> None:
        self.client(["scancel", "--full", "-u", "root"])
        for process in reversed(self.processes):
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    system_packages.ensure(PACKAGES, _installed, "SLURM (slurmctld, slurmd, slurmdbd), munge and MariaDB")
    root = Path(tempfile.mkdtemp(prefix="i2i-slurm-"))
    running = Cluster(root)
    try:
        running.up()
        yield running
    finally:
        running.down()
        shutil.rmtree(root, ignore_errors=True)


def _env(cluster: Cluster, tmp_path: Path) -> dict[str, str]:
    return {**cluster.env, "RESULTS_DIR": str(tmp_path / "results"), "PYTHONPATH": str(REPO)}


def _run(args: list[str], env: dict[str, str], timeout: int = 900) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", *args], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)
    assert done.returncode == 0, (done.stdout[-3000:], done.stderr[-3000:])
    return done


def _records(results: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(results.glob("runs/*/*/*/*/metrics.json"))]


MATRIX = ["--model", "identity,unet", "--data", "mri", "--preset", "smoke", "--seeds", "2"]


def test_matrix_as_one_job_array_then_the_leaderboard_job(cluster, tmp_path):
    env = _env(cluster, tmp_path)
    done = _run(["benchmark", "run", *MATRIX, "--executor", "slurm", "--slurm", SLURM, "--wait"], env)
    assert "submitted 4 run(s) as array" in done.stdout and "leaderboard job" in done.stdout
    records = _records(tmp_path / "results")
    keys = sorted((r["model"], r["seed"]) for r in records)
    assert keys == [("identity", 0), ("identity", 1), ("unet", 0), ("unet", 1)]
    assert all(r["status"] == "complete" for r in records)
    board = (tmp_path / "results" / "LEADERBOARD.md").read_text()  # written by the dependent job
    assert "| unet |" in board and "| identity |" in board
    (manifest,) = (tmp_path / "results" / "jobs").glob("*-slurm/manifest.json")
    array = json.loads(manifest.read_text())["array_job"]
    accounted = cluster.client(["sacct", "-n", "-X", "-P", "-o", "JobID,State", "-j", array]).stdout.split()
    assert sorted(accounted) == [f"{array}_{i}|COMPLETED" for i in range(4)]
    status = json.loads(_run(["benchmark", "status", *MATRIX, "--json"], env).stdout)
    assert [row["status"] for row in status] == ["complete"] * 4
    assert {row["job_state"] for row in status} == {"COMPLETED"}
    again = _run(["benchmark", "run", *MATRIX, "--executor", "slurm", "--slurm", SLURM, "--wait"], env)
    assert "every run is complete; nothing submitted" in again.stdout and len(_records(tmp_path / "results")) == 4


def test_a_preempted_task_is_requeued_and_resumes_from_its_checkpoint(cluster, tmp_path):
    env = _env(cluster, tmp_path)
    args = ["benchmark", "run", "--model", "unet", "--data", "mri", "--preset", "smoke", "--seed", "0",
            "--set", "trainer.max_epochs=30", "--executor", "slurm", "--slurm", SLURM, "--wait",
            "--no-leaderboard"]
    matrix = subprocess.Popen([sys.executable, "-m", *args], cwd=REPO, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        results = tmp_path / "results"
        _wait_for(lambda: any(results.glob("runs/mri/unet/smoke/*/checkpoints/last.ckpt")), "a first epoch",
                  timeout=300)
        (manifest,) = results.glob("jobs/*-slurm/manifest.json")
        job = json.loads(manifest.read_text())["runs"][0]["job_id"]
        # What SLURM sends `signal_delay_s` before a time limit, or on pre-emption.
        assert cluster.client(["scancel", "--signal=USR2", job]).returncode == 0
        _wait_for(lambda: "Restarts=1" in cluster.client(["scontrol", "show", "job", job]).stdout, "a requeue",
                  timeout=120)
        # SLURM holds a requeued job for two minutes before it may start again; release it now.
        assert cluster.client(["scontrol", "update", f"jobid={job}", "StartTime=now"]).returncode == 0
        out, err = matrix.communicate(timeout=600)
    finally:
        if matrix.poll() is None:
            matrix.kill()
    assert matrix.returncode == 0, (out[-2000:], err[-3000:])
    (record,) = _records(results)
    assert record["status"] == "complete" and record["resumed"] is True and record["resumed_from_step"] > 0
    assert record["efficiency"]["epochs"] == 30
    (log,) = results.glob("jobs/*-slurm/*_0_log.err")
    assert "this job is preempted" in log.read_text() or "this job is timed-out" in log.read_text()


def test_sweep_workers_as_a_job_array_share_the_study(cluster, tmp_path):
    env = _env(cluster, tmp_path)
    storage = f"journal://{tmp_path / 'study.log'}"
    done = _run(["sweeps", "run", "--model", MODEL, "--data", DATA, "--preset", "smoke", "--study", "slurm-pair",
                 "--trials", "2", "--workers", "2", "--storage", storage, "--executor", "slurm", "--slurm", SLURM,
                 "--wait"], env)
    assert "submitted 2 worker(s) as array" in done.stdout
    study = optuna.load_study(study_name="slurm-pair", storage=parse(storage).open(heartbeat_interval=None))
    finished = [t for t in study.get_trials() if t.state in accounting.DONE]
    assert len(finished) == 2 and len({t.number for t in finished}) == 2
    assert all(t.user_attrs.get("run_dir") for t in finished)
