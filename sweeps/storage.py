"""Where a study lives, so that any number of workers on any number of nodes share it.

`--storage` (or the SWEEPS_STORAGE environment variable, which keeps a password off the command line):
    (empty)                              SQLite at $RESULTS_DIR/sweeps/optuna.db: one node, local disk
    sqlite:///path/file.db, file.db      SQLite elsewhere (never on NFS: its locking is unreliable there)
    journal:///shared/path/study.log     Optuna's journal file: many nodes over a shared filesystem
    shared/path/study.log                the same (a path ending in .log)
    postgresql://user:pw@host:5432/db    PostgreSQL (psycopg2), or mysql+pymysql://...: many nodes, any network

Dead workers: RDB storages (SQLite, PostgreSQL, MySQL) use Optuna's heartbeat; a trial whose worker stops
beating for `grace_period` seconds is failed and re-queued with the same parameters
(`RetryHeartbeatStaleTrialCallback`). Optuna's journal storage has no heartbeat, so `sweeps.heartbeat`
keeps one for it. A password is never printed or written: `masked()` everywhere.
"""
from __future__ import annotations

import importlib.util
import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import optuna
from optuna.storages import BaseStorage, JournalStorage, RDBStorage, RetryHeartbeatStaleTrialCallback
from optuna.storages.journal import JournalFileBackend

from benchmark.errors import UsageError
from benchmark.records import results_dir

ENV = "SWEEPS_STORAGE"
RDB_SCHEMES = ("sqlite", "postgresql", "postgres", "mysql", "mariadb")
_QUERY_SECRET = re.compile(r"(?i)(password=)[^&]*")


def mask(url: str) -> str:
    """`url` with its password replaced by ***: postgresql://user:***@host/db (also ?password=...)."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return _QUERY_SECRET.sub(r"\1***", url)
    query = rest.find("?")
    head, tail = (rest, "") if query < 0 else (rest[:query], rest[query:])
    at = head.rfind("@")  # host and database names hold no "@": the last one ends the user info
    if at >= 0 and ":" in head[:at]:
        head = head[:at].split(":", 1)[0] + ":***" + head[at:]
    return f"{scheme}://{head}" + _QUERY_SECRET.sub(r"\1***", tail)


def password(url: str) -> str | None:
    """The password in `url`, if any (to scrub it from messages of drivers and servers)."""
    _, sep, rest = url.partition("://")
    head = rest.split("?", 1)[0]
    at = head.rfind("@")
    if sep and at >= 0 and ":" in head[:at]:
        return head[:at].split(":", 1)[1] or None
    found = _QUERY_SECRET.search(url)
    return (found.group(0).split("=", 1)[1] or None) if found else None


@dataclass(frozen=True)
class StorageSpec:
    """A parsed --storage: its kind and the URL or path it names (the URL may hold a secret)."""

    kind: str  # "sqlite", "rdb" (a server) or "journal"
    url: str  # SQLAlchemy URL for sqlite/rdb; the file path for journal

    def masked(self) -> str:
        return mask(self.url) if self.kind != "journal" else f"journal://{self.url}"

    def scrub(self, text: str) -> str:
        """`text` (an error message) without this storage's password."""
        secret = password(self.url)
        text = text.replace(self.url, self.masked())
        return text.replace(secret, "***") if secret else text

    @property
    def heartbeat(self) -> str:
        """Who detects dead workers: Optuna (RDB storages) or `sweeps.heartbeat` (journal)."""
        return "optuna" if self.kind in ("sqlite", "rdb") else "sweeps"

    def open(self, heartbeat_interval: int | None = 30, grace_period: int | None = 120,
             max_retry: int = 3) -> BaseStorage:
        """The Optuna storage; RDB ones with a heartbeat that fails and re-queues a dead worker's trial."""
        if self.kind == "journal":
            Path(self.url).parent.mkdir(parents=True, exist_ok=True)
            return JournalStorage(JournalFileBackend(self.url))
        kwargs: dict = {"engine_kwargs": {"pool_pre_ping": True}}
        if self.kind == "sqlite":
            path = self.url.removeprefix("sqlite:///")
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            # Many worker processes share one file: wait for the lock instead of failing at once.
            kwargs["engine_kwargs"] = {"connect_args": {"timeout": 120}}
        if heartbeat_interval:
            kwargs.update(heartbeat_interval=int(heartbeat_interval), grace_period=int(grace_period or 120),
                          heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(max_retry=max_retry))
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                return RDBStorage(with_driver(self.url), **kwargs)
        except ImportError:
            raise UsageError(f"storage {self.masked()}: its database driver is not installed; for PostgreSQL: "
                             "pip install psycopg2-binary (or psycopg[binary]), for MySQL: pip install pymysql") \
                from None
        except Exception as exc:  # noqa: BLE001 - any driver/server error: refused, bad credentials, no database
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise UsageError(f"storage {self.masked()}: cannot open: {self.scrub(first)}") from None


def with_driver(url: str) -> str:
    """A driver-less postgresql:// URL with the driver that is installed: SQLAlchemy 2.1 means psycopg 3 by
    it, while psycopg2 (the `slow` extra, and most clusters) is the common one."""
    if not url.startswith("postgresql://"):
        return url
    for module, scheme in (("psycopg", "postgresql+psycopg://"), ("psycopg2", "postgresql+psycopg2://")):
        if importlib.util.find_spec(module) is not None:
            return scheme + url.removeprefix("postgresql://")
    return url


def default_sqlite() -> Path:
    return (results_dir() / "sweeps" / "optuna.db").resolve()


def parse(storage: str | None) -> StorageSpec:
    """--storage (or SWEEPS_STORAGE, or the default SQLite file) as a StorageSpec."""
    raw = (storage or os.environ.get(ENV) or "").strip()
    if not raw:
        return StorageSpec("sqlite", f"sqlite:///{default_sqlite()}")
    if raw.startswith("journal://"):
        path = raw.removeprefix("journal://")
        if not path:
            raise UsageError("--storage journal:// needs a file path, e.g. journal:///shared/sweeps/study.log")
        return StorageSpec("journal", str(Path(path).resolve()))
    scheme = raw.split("://", 1)[0].split("+", 1)[0].lower() if "://" in raw else ""
    if not scheme:
        if raw.endswith(".log"):
            return StorageSpec("journal", str(Path(raw).resolve()))
        if raw.endswith((".db", ".sqlite", ".sqlite3")):
            return StorageSpec("sqlite", f"sqlite:///{Path(raw).resolve()}")
        raise UsageError(f"--storage {mask(raw)}: expected a URL (sqlite:///, postgresql://, mysql://, "
                         "journal:///) or a file ending in .db or .log")
    if scheme not in RDB_SCHEMES:
        raise UsageError(f"--storage {mask(raw)}: unsupported scheme {scheme!r} "
                         "(sqlite, postgresql, mysql, journal)")
    if scheme == "postgres":  # the Heroku-style alias SQLAlchemy 2 no longer accepts
        raw = "postgresql" + raw[len("postgres"):]
    return StorageSpec("sqlite" if scheme == "sqlite" else "rdb", raw)
