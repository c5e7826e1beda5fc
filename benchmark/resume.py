"""Resume after a crash: find the unfinished run folder of a configuration, hold it, continue its training.

Why: a SIGKILL (out of memory, a pre-empted node) must cost at most the batches since the last checkpoint,
and rerunning the same command must neither start over nor leave a second record. A folder is resumable
when it belongs to the same (dataset, model, preset, seed), its config.yaml equals the new run's complete
configuration, and it has no finished record (no metrics.json, or one with status `running` or
`interrupted`). The newest such folder is reused and training goes on from its latest sound checkpoint
(`benchmark.checkpoints`); `--fresh` starts a new folder instead.

A run holds an exclusive lock on `<run>/.lock` from the moment it owns the folder until it ends; the
kernel drops it when the process dies, even on SIGKILL. So two processes never write one folder, and a
second process started with the same command while the first still runs gets a folder of its own.
"""
from __future__ import annotations

import csv
import fcntl
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import yaml

from benchmark import checkpoints, records

LOCK_FILE = ".lock"
RESUMABLE = ("running", "interrupted")  # statuses of a metrics.json that does not finish a run
RUN_ID_PREFIX = "I2I_RUN_ID_"  # one run folder for all ranks of a run (launched ranks inherit it)
LOG_HISTORY = "metrics.before-resume.csv"  # CSV log rows from before the latest resume point


class RunLock:
    """A non-blocking exclusive `flock` on a run folder's lock file."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / LOCK_FILE
        self.handle: IO[str] | None = None

    def acquire(self) -> bool:
        handle = open(self.path, "a+")  # noqa: SIM115 - held open for the lock's lifetime
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        self.handle = handle
        return True

    def release(self) -> None:
        if self.handle is not None:
            fcntl.flock(self.handle, fcntl.LOCK_UN)
            self.handle.close()
            self.handle = None


@dataclass
class Claim:
    """The run folder a run writes, its lock (rank 0 only) and, when resuming, where training continues."""

    folder: Path
    lock: RunLock | None = None
    checkpoint: checkpoints.CheckpointInfo | None = None
    resumed: bool = False
    env_key: str | None = None  # the shared id's variable, dropped by the writer when the run ends

    @property
    def ckpt_path(self) -> str | None:
        return str(self.checkpoint.path) if self.checkpoint else None

    def record_fields(self) -> dict[str, Any]:
        """What the run record says about resuming (nothing for a run that started fresh)."""
        if not self.resumed:
            return {}
        info = self.checkpoint
        return {"resumed": True, "resumed_from_step": info.step if info else 0,
                "resumed_from_epoch": info.epoch if info else 0}

    def release(self) -> None:
        """Unlock the folder, and forget the shared id: a later run of the same (dataset, model, preset,
        seed) in this process (a test, a sweep) must choose its own folder, not inherit this one."""
        if self.lock is not None:
            self.lock.release()
        if self.env_key:
            os.environ.pop(self.env_key, None)


# -- which folder -----------------------------------------------------------------------------------------
def _normal(config: dict[str, Any]) -> Any:
    """The configuration as config.yaml holds it (YAML turns tuples into lists, for one)."""
    return yaml.safe_load(yaml.safe_dump(config))


def same_config(folder: Path, config: dict[str, Any]) -> bool:
    try:
        saved = yaml.safe_load((folder / "config.yaml").read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return False
    return saved == _normal(config)


def finished(folder: Path) -> bool:
    """Whether the folder holds a finished record (complete or failed): never written again."""
    path = folder / "metrics.json"
    if not path.exists():
        return False
    try:
        status = json.loads(path.read_text(encoding="utf-8")).get("status")
    except (OSError, ValueError, AttributeError):
        return True  # not ours to understand, so not ours to overwrite
    return status not in RESUMABLE


def resumable(config: dict[str, Any]) -> list[Path]:
    """Unfinished folders of this exact configuration, newest first (run ids start with their time)."""
    run = config["run"]
    parent = records.run_dir(run["data"], run["model"], run["preset"], "_").parent
    if not parent.is_dir():
        return []
    folders = sorted((p for p in parent.glob(f"*-seed{run['seed']}-*") if p.is_dir()), reverse=True)
    return [f for f in folders if not finished(f) and same_config(f, config)]


def _locked_elsewhere(folder: Path) -> bool:
    lock = RunLock(folder)
    try:
        if not lock.acquire():
            return True
    except OSError:
        return True
    lock.release()
    return False


def env_key(run: dict[str, Any]) -> str:
    parts = (str(run[k]) for k in ("data", "model", "preset", "seed"))
    return RUN_ID_PREFIX + "_".join(parts).replace("-", "_")


def choose_run_id(config: dict[str, Any], resume: bool, writer: bool = True) -> str:
    """The newest resumable folder's id when resuming, else a new one. A writer skips folders another
    process holds; a rank started by torchrun or SLURM (no id inherited) takes the one its rank 0 holds."""
    for folder in resumable(config) if resume else []:
        if not writer or not _locked_elsewhere(folder):
            return folder.name
    return records.new_run_id(config["run"]["seed"])


def shared_run_id(config: dict[str, Any], resume: bool = False, writer: bool = True) -> str:
    """One id for all processes of a run: rank 0 chooses it, ranks Lightning launches inherit it by env."""
    key = env_key(config["run"])
    if key not in os.environ:
        os.environ[key] = choose_run_id(config, resume, writer)
    return os.environ[key]


# -- holding it -------------------------------------------------------------------------------------------
def claim(config: dict[str, Any], resume: bool, writer: bool = True) -> Claim:
    """The folder this run writes. A writer (rank 0) locks it, and draws a fresh id when the shared one
    names a folder that is finished, held by another process or of another configuration (a matrix or a
    test repeating a configuration in one process); other ranks only read where training continues."""
    run = config["run"]
    key = env_key(run)
    run_id = shared_run_id(config, resume, writer)
    folder = records.run_dir(run["data"], run["model"], run["preset"], run_id)
    if not writer:
        started = resume and (folder / "config.yaml").is_file()
        return Claim(folder, checkpoint=checkpoints.latest(folder) if started else None, resumed=started)
    held = _hold(folder, config)
    if held is None:
        os.environ[key] = records.new_run_id(run["seed"])
        folder = records.run_dir(run["data"], run["model"], run["preset"], os.environ[key])
        held = _hold(folder, config)
        assert held is not None, f"a new run folder {folder} cannot be held"
    existing = (folder / "config.yaml").is_file()
    result = Claim(folder, held, resumed=resume and existing, env_key=key)
    if result.resumed:
        _clean_partial_writes(folder)
        result.checkpoint = checkpoints.latest(folder)
        keep_log_history(folder, result.checkpoint.batches if result.checkpoint else 0)
    return result


def _hold(folder: Path, config: dict[str, Any]) -> RunLock | None:
    """The folder's lock when it can take this run; None when it is finished, held, or not this config."""
    if folder.exists() and (finished(folder) or ((folder / "config.yaml").is_file()
                                                  and not same_config(folder, config))):
        return None
    records.ensure_writable(folder)  # one line, before anything is written, when results cannot be
    lock = RunLock(folder)
    if not lock.acquire():
        return None
    if finished(folder):  # finished between the look and the lock
        lock.release()
        return None
    return lock


def _clean_partial_writes(folder: Path) -> None:
    """Temporary files of writes a kill interrupted (see `records.atomic_write`): never read, so dropped."""
    for pattern in (f".*{records.TMP_SUFFIX}", f"{checkpoints.FOLDER}/.*{records.TMP_SUFFIX}"):
        for path in folder.glob(pattern):
            path.unlink(missing_ok=True)


# -- the CSV logs: Lightning's CSVLogger empties logs/metrics.csv when a run starts in its folder ----------
def _rows(path: Path) -> list[dict[str, str]]:
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            return list(csv.DictReader(handle))
    except (OSError, csv.Error):
        return []


def _step(row: dict[str, str]) -> float:
    try:
        return float(row.get("step") or "nan")
    except ValueError:
        return float("nan")


def keep_log_history(folder: Path, batches: int) -> None:
    """Keep the log rows from before the resume point (`batches` stepped) aside, for `merge_log_history`."""
    logs = folder / "logs"
    rows = _rows(logs / LOG_HISTORY) + _rows(logs / "metrics.csv")
    kept = [r for r in rows if _step(r) < batches]
    if kept:
        records.write_csv(logs / LOG_HISTORY, kept)
    else:
        (logs / LOG_HISTORY).unlink(missing_ok=True)


def merge_log_history(folder: Path) -> None:
    """logs/metrics.csv = the rows kept before resuming + the resumed run's own, so curves stay whole."""
    logs = folder / "logs"
    if not (logs / LOG_HISTORY).is_file():
        return
    records.write_csv(logs / "metrics.csv", _rows(logs / LOG_HISTORY) + _rows(logs / "metrics.csv"))
    (logs / LOG_HISTORY).unlink()


# -- staged models: a stage that finished is not fitted again --------------------------------------------------
STAGE_DONE = "stage.json"


def stage_done(folder: Path) -> tuple[str | None, dict[str, Any]] | None:
    """(best checkpoint, record row) of a finished earlier stage of a resumed run, else None."""
    try:
        done = json.loads((folder / STAGE_DONE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    name = done.get("checkpoint")
    return (str(folder / checkpoints.FOLDER / name) if name else None), done["row"]


def mark_stage_done(folder: Path, checkpoint: str | None, row: dict[str, Any]) -> None:
    records.write_json(folder / STAGE_DONE, {"checkpoint": Path(checkpoint).name if checkpoint else None,
                                             "row": row})
