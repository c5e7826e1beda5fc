"""Peak memory of one run, not of the process: a matrix trains every model in one process.

Why: `ru_maxrss` is the process's high-water mark, so after one large model every later run of a matrix would
report the same figure. On CUDA the allocator's peak is reset per run. On CPU a daemon thread samples the
resident set size (Linux `/proc/self/statm`) every ``interval`` seconds while the run lasts; where `/proc`
is missing it falls back to `ru_maxrss` (the process's peak, an upper bound of the run's). `memory_scope`
says which (records older than this module hold the process's peak and no scope).
"""
from __future__ import annotations

import os
import resource
import threading
from pathlib import Path

import torch

STATM = Path("/proc/self/statm")


def _rss_bytes() -> int | None:
    try:
        resident_pages = int(STATM.read_text().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return resident_pages * os.sysconf("SC_PAGE_SIZE")


class PeakMemory:
    """Start at a run's beginning, `stop()` at its end: the run's peak GPU memory or resident set, in MB."""

    def __init__(self, interval: float = 0.05) -> None:
        self.interval, self.peak = interval, 0
        self._done = threading.Event()
        self._thread: threading.Thread | None = None
        if torch.cuda.is_available():
            torch.cuda.reset_peak_memory_stats()
        elif (current := _rss_bytes()) is not None:
            self.peak = current
            self._thread = threading.Thread(target=self._sample, name="peak-rss", daemon=True)
            self._thread.start()

    def _sample(self) -> None:
        while not self._done.wait(self.interval):
            self.peak = max(self.peak, _rss_bytes() or 0)

    def stop(self) -> dict[str, float]:
        if torch.cuda.is_available():
            return {"peak_gpu_memory_mb": torch.cuda.max_memory_allocated() / 2**20, "memory_scope": "run"}
        if self._thread is None:
            return {"peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                    "memory_scope": "process"}
        self._done.set()
        self._thread.join()
        self.peak = max(self.peak, _rss_bytes() or 0)
        return {"peak_rss_mb": self.peak / 2**20, "memory_scope": "run"}
