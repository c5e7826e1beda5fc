"""Debian packages for the slow tier's real servers (PostgreSQL, SLURM, Chromium), installed when missing.

Where apt-get runs as root (CI: a fresh machine), a missing package is installed, after one `apt-get
update` when the package lists are missing or stale; an install that fails there fails the test (CI must
not skip silently). Elsewhere the caller skips.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable

import pytest

ENV = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
LOCK_WAIT = ["-o", "DPkg::Lock::Timeout=900"]  # another process may hold dpkg's lock for a while
_updated: list[bool] = []


def can_install() -> bool:
    return shutil.which("apt-get") is not None and os.geteuid() == 0


def _apt(args: list[str], timeout: int) -> subprocess.CompletedProcess:
    return subprocess.run(["apt-get", *LOCK_WAIT, *args], capture_output=True, text=True, timeout=timeout,
                          env=ENV, check=False)


def ensure(packages: list[str], present: Callable[[], bool], what: str) -> None:
    """Install `packages` unless `present()`; skip when that cannot be done here."""
    if present():
        return
    if not can_install():
        pytest.skip(f"{what} is missing and cannot be installed here (needs apt-get as root)")
    install = ["install", "-y", "-q", "--no-install-recommends", *packages]
    done = _apt(install, timeout=1800)
    if done.returncode != 0 and not _updated:  # a fresh machine has no package lists yet
        _updated.append(True)
        _apt(["update", "-q"], timeout=900)
        done = _apt(install, timeout=1800)
    if done.returncode != 0 or not present():
        pytest.fail(f"apt-get install {' '.join(packages)} failed: {done.stderr[-2000:]}")
