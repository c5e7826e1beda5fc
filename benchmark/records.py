"""Run records: the only thing leaderboards are built from.

Layout: `$RESULTS_DIR/runs/<dataset>/<model>/<preset>/<run_id>/` with config.yaml, metrics.json,
per_image.csv, sample.png, environment.json, checkpoints/ and logs/. Every file is written atomically
(temporary file in the same folder, then rename), so a reader never sees half a record; `metrics.json` is
written last, and a folder without it is a run still in progress.
"""
from __future__ import annotations

import csv
import errno
import io
import json
import os
import platform
import re
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

import yaml

from benchmark.errors import BenchError, StorageError

REPO = Path(__file__).resolve().parents[1]
TMP_SUFFIX = ".tmp"  # what `atomic_write` leaves behind when killed mid-write


def _file_mode() -> int:
    """What open() would give a new file (0666 less the umask): mkstemp's 0600 would hide records from
    the other accounts of a shared results folder."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


FILE_MODE = _file_mode()


def results_dir() -> Path:
    """`$RESULTS_DIR`, else `results/` of the working directory."""
    return Path(os.environ.get("RESULTS_DIR") or "results")


def new_run_id(seed: int) -> str:
    return f"{time.strftime('%Y%m%d-%H%M%S')}-seed{seed}-{uuid.uuid4().hex[:6]}"


def started(record: dict[str, Any]) -> str:
    """When a run started (ISO 8601), the order in which runs of one configuration replace each other: the
    record's `started`, else the time its run id begins with (records from before run ids were identities)."""
    if record.get("started"):
        return str(record["started"])
    match = re.match(r"(\d{4})(\d{2})(\d{2})-(\d{2})(\d{2})(\d{2})", str(record.get("run_id", "")))
    return "{}-{}-{}T{}:{}:{}".format(*match.groups()) if match else ""


def seed_of_folder(name: str) -> str:
    """The seed a run folder's name carries (`seed<N>-<digest>`, or an older `<time>-seed<N>-<hex>`)."""
    match = re.search(r"(?:^|-)seed(\d+)(?:-|$)", name)
    return match.group(1) if match else "?"


def folder_name(name: str) -> str:
    """A model or dataset name as a folder: a dotted path `pkg.module:Class` becomes `pkg.module.Class`."""
    return name.replace(":", ".").replace("/", ".")


def run_dir(dataset: str, model: str, preset: str, run_id: str) -> Path:
    return results_dir() / "runs" / folder_name(dataset) / folder_name(model) / preset / run_id


def ensure_writable(path: Path) -> None:
    """Fail early, in one line, when results cannot be written (before hours of training)."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".write-test-"):
            pass
    except OSError as exc:
        raise BenchError(f"results directory {path} is not writable ({exc.strerror}); "
                         "set RESULTS_DIR to a writable folder") from None


# errno -> what the user is told (then the path); anything else keeps its own message.
PLAIN_WRITE_ERRORS = {errno.ENOSPC: "no space left on", errno.EDQUOT: "disk quota exceeded on",
                      errno.EROFS: "read-only file system at", errno.EACCES: "permission denied writing to",
                      errno.EPERM: "permission denied writing to"}
NEARLY_FULL = 1 << 20  # bytes free under which a failed write is put down to a full disk


def _free_bytes(folder: Path) -> int | None:
    try:
        stats = os.statvfs(folder)
    except OSError:
        return None
    return stats.f_bavail * stats.f_frsize


def storage_error(exc: BaseException, path: Path) -> StorageError | None:
    """A failed write in plain words, or None when it was not the file system's doing. torch's writer turns
    a full disk into a RuntimeError ("unexpected pos ..."), so a failed write on a nearly full file
    system counts as a full one."""
    words = PLAIN_WRITE_ERRORS.get(exc.errno) if isinstance(exc, OSError) else None
    if words is None and isinstance(exc, (OSError, RuntimeError)):
        free = _free_bytes(path.parent)
        words = "no space left on" if free is not None and free < NEARLY_FULL else None
    if words is None:
        return None
    return StorageError(f"{words} {path.parent} (writing {path.name}); earlier checkpoints and records are "
                        "kept: make room or fix the folder, then rerun the same command to resume")


def atomic_write(path: Path, write: Callable[[BinaryIO], None]) -> None:
    """`write` fills a temporary file beside `path`, which is synced and renamed over `path`: a reader, or a
    process killed mid-write, sees the old file or the new one, never a part (`.<name>.*.tmp` is left at
    worst)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TMP_SUFFIX)
    except OSError as exc:
        raise (storage_error(exc, path) or exc) from None
    try:
        os.fchmod(fd, FILE_MODE)
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        plain = storage_error(exc, path)  # before the partial file goes and frees its space
        Path(tmp).unlink(missing_ok=True)
        if plain is not None:
            raise plain from None
        raise


def atomic_write_bytes(path: Path, data: bytes) -> None:
    atomic_write(path, lambda handle: handle.write(data))


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def write_json(path: Path, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=False, allow_nan=True) + "\n")


def write_yaml(path: Path, obj: Any) -> None:
    atomic_write_text(path, yaml.safe_dump(obj, sort_keys=False))


def write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    columns: list[str] = []
    for row in rows:
        columns.extend(k for k in row if k not in columns)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(path, buffer.getvalue())


def git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], check=False, cwd=REPO, capture_output=True,
                             text=True, timeout=5)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def environment() -> dict[str, Any]:
    """Versions, commit and device: what is needed to trust or repeat a number."""
    import lightning
    import torch

    cuda = torch.cuda.is_available()
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "torch": torch.__version__,
        "lightning": lightning.__version__,
        "git_commit": git_commit(),
        "device": torch.cuda.get_device_name(0) if cuda else f"cpu ({os.cpu_count()} cores)",
        "cuda": torch.version.cuda if cuda else None,
        "threads": torch.get_num_threads(),
    }


def load_records(root: Path | None = None) -> list[dict[str, Any]]:
    """Every finished record under `runs/` (those with a metrics.json), with its folder."""
    base = (root or results_dir()) / "runs"
    records = []
    for path in sorted(base.glob("*/*/*/*/metrics.json")):
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            continue  # written atomically, so only a foreign or damaged file lands here: not ours to read
        record["_dir"] = str(path.parent)
        records.append(record)
    return records
