"""How fast each datamodule's training loader delivers, to compare with how fast training consumes.

The datamodules generate (or read) every image once in `setup` and keep it in memory; the loader then only
crops, flips and collates. Both costs are measured: `setup_s` once, and samples (and megapixels) per second
of the training loader with the workers a run would use on this machine (`fast_paths.default_num_workers`).
"""
from __future__ import annotations

import time
from typing import Any

from benchmark.run_config import RunRequest, build_datamodule, prepare


def loader_rate(data: str, preset: str, seconds: float = 3.0, max_batches: int = 200) -> dict[str, Any]:
    """One measurement: setup time, then the training loader's rate over about `seconds` (epochs repeat)."""
    config = prepare(RunRequest(model="identity", data=data, preset=preset))
    start = time.perf_counter()
    datamodule = build_datamodule(config)
    setup_s = time.perf_counter() - start
    loader = datamodule.train_dataloader()
    iterator, samples, pixels, batches = iter(loader), 0, 0, 0
    next(iterator, None)  # worker start-up is a one-off cost (persistent workers)
    begin = time.perf_counter()
    while time.perf_counter() - begin < seconds and batches < max_batches:
        batch = next(iterator, None)
        if batch is None:
            iterator = iter(loader)
            continue
        samples += len(batch["id"])
        pixels += batch["target"].shape[0] * batch["target"].shape[-1] * batch["target"].shape[-2]
        batches += 1
    elapsed = time.perf_counter() - begin
    return {"bench": "data", "dataset": data, "preset": preset, "batch": loader.batch_size,
            "crop": datamodule.crop_size, "workers": datamodule.num_workers, "setup_s": round(setup_s, 2),
            "samples_per_s": round(samples / elapsed, 1), "mpixels_per_s": round(pixels / elapsed / 1e6, 2)}
