"""Resume after a crash: find the run folder of a configuration, hold it, continue its training.

Why: a SIGKILL (out of memory, a pre-empted node) must cost at most the batches since the last checkpoint,
and rerunning the same command must neither start over nor leave a second record. A run's folder is named
by its identity, `seed<N>-<digest>` (`RunConfig.digest`: the experiment, not how it executes), with `-<k>`
for a later attempt of the same experiment. Every process of a distributed run computes the same name
itself. Rerunning a configuration:

- newest attempt complete: nothing is trained again, its record stands (`Claim.done`);
- newest attempt unfinished (no metrics.json, or status `running` / `interrupted`): it resumes from its
  latest sound checkpoint (`benchmark.checkpoints`);
- newest attempt failed, or `--fresh`: a new attempt.

A run holds an exclusive lock on `<run>/.lock` from the moment it owns the folder until it ends; the
kernel drops it when the process dies, even on SIGKILL. So two processes never write one folder, and a
second process started with the same command while the first still runs gets an attempt of its own.
"""
from __future__ import annotations

import csv
import fcntl
import json
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import yaml

from benchmark import checkpoints, records

if TYPE_CHECKING:
    from benchmark.run_config import RunConfig

LOCK_FILE = ".lock"
RESUMABLE = ("running", "interrupted")  # statuses of a metrics.json that does not finish a run
LOG_HISTORY = "metrics.before-resume.csv"  # CSV log rows from before the latest resume point
PROCESS_START = time.time()  # a launched rank's folder is one its rank 0 made after this process started


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
    """The run folder a run writes, its lock (rank 0 only) and, when resuming, where training continues.
    `done`: the folder already holds this configuration's complete record (nothing to train)."""

    folder: Path
    lock: RunLock | None = None
    checkpoint: checkpoints.CheckpointInfo | None = None
    resumed: bool = False
    done: bool = False

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
        if self.lock is not None:
            self.lock.release()


# -- which folder -----------------------------------------------------------------------------------------
def _normal(value: Any) -> Any:
    """A value as config.yaml holds it (YAML turns tuples into lists, for one)."""
    return yaml.safe_load(yaml.safe_dump(value))


def same_config(folder: Path, config: RunConfig) -> bool:
    """Whether the folder's config.yaml is this experiment (execution settings may differ)."""
    try:
        saved = yaml.safe_load((folder / "config.yaml").read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return False
    if not isinstance(saved, dict):
        return False
    return {k: saved.get(k) for k in config.experiment()} == _normal(config.experiment())


def status(folder: Path) -> str | None:
    """The status of the folder's metrics.json: None when there is none yet, "unreadable" when it cannot
    be read (not ours to understand, so not ours to overwrite)."""
    path = folder / "metrics.json"
    if not path.exists():
        return None
    try:
        value = json.loads(path.read_text(encoding="utf-8")).get("status")
    except (OSError, ValueError, AttributeError):
        return "unreadable"
    return str(value)


def finished(folder: Path) -> bool:
    """Whether the folder holds a finished record (complete or failed): never written again."""
    state = status(folder)
    return state is not None and state not in RESUMABLE


def base_id(config: RunConfig) -> str:
    return f"seed{config.seed}-{config.digest}"


def attempts(config: RunConfig) -> list[tuple[int, Path]]:
    """(attempt number, folder) of this experiment, oldest first."""
    parent = records.run_dir(config.data, config.model, config.preset, "_").parent
    base = base_id(config)
    pattern = re.compile(rf"^{re.escape(base)}(?:-(\d+))?$")
    found = []
    for path in parent.glob(f"{base}*") if parent.is_dir() else []:
        match = pattern.match(path.name)
        if match and path.is_dir():
            found.append((int(match.group(1) or 1), path))
    return sorted(found)


def attempt_folder(config: RunConfig, number: int) -> Path:
    name = base_id(config) + ("" if number == 1 else f"-{number}")
    return records.run_dir(config.data, config.model, config.preset, name)


# -- holding it -------------------------------------------------------------------------------------------
def claim(config: RunConfig, resume: bool, writer: bool = True) -> Claim:
    """The folder this run writes. A writer (rank 0) locks it; other ranks only read where training
    continues, and compute the same folder: the newest attempt when it is unfinished (a fresh run's rank 0
    made it after this process started), else the next one."""
    found = [(n, f) for n, f in attempts(config) if (f / "config.yaml").is_file()]  # begun attempts
    newest_number, newest = found[-1] if found else (0, None)
    if not writer:
        made_for_us = newest is not None and (newest / "config.yaml").is_file() and not finished(newest) and (
            resume or (newest / "config.yaml").stat().st_mtime >= PROCESS_START - 1)
        if made_for_us:
            assert newest is not None
            started = resume and same_config(newest, config)
            return Claim(newest, checkpoint=checkpoints.latest(newest) if started else None, resumed=started)
        return Claim(attempt_folder(config, newest_number + 1))
    if resume and newest is not None and same_config(newest, config):
        state = status(newest)
        if state == "complete":
            return Claim(newest, done=True)
        if state is None or state in RESUMABLE:
            lock = _hold(newest, config)
            if lock is not None:
                result = Claim(newest, lock, resumed=True)
                _clean_partial_writes(newest)
                result.checkpoint = checkpoints.latest(newest)
                keep_log_history(newest, result.checkpoint.batches if result.checkpoint else 0)
                return result
    number = newest_number + 1
    while True:  # the next attempt not begun and not held (a concurrent process may take one meanwhile)
        folder = attempt_folder(config, number)
        lock = _hold(folder, config)
        if lock is not None and not (folder / "config.yaml").is_file():
            return Claim(folder, lock)
        if lock is not None:
            lock.release()
        number += 1


def _hold(folder: Path, config: RunConfig) -> RunLock | None:
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
