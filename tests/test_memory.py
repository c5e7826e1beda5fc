"""Peak memory is measured per run: a matrix shares one process, whose high-water mark only grows."""
import sys
import time

import numpy as np
import pytest

from benchmark.memory import PeakMemory


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="resident-set sampling reads /proc")
def test_a_later_smaller_run_reports_its_own_peak():
    first = PeakMemory(interval=0.01)
    big = np.ones(40_000_000)  # 320 MB, given back to the OS when freed (a large allocation is mmapped)
    time.sleep(0.1)
    del big
    high = first.stop()["peak_rss_mb"]
    second = PeakMemory(interval=0.01)
    time.sleep(0.05)
    low = second.stop()["peak_rss_mb"]
    assert 250 < high - low < 400
