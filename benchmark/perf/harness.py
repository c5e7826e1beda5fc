"""`python -m benchmark perf` (`make perf`): what this device achieves, one JSON line per measurement.

Measurements (`bench` field), all medians of repeated timed windows after warm-up:
- `train`: per model and precision, training images/s in Lightning (`lightning_images_per_s`) and in a plain
  PyTorch loop with the same networks, losses, optimizer steps and batches (`raw_images_per_s`), their
  ratio (`lightning_over_raw`: the median over pairs of adjacent windows, the two loops alternating inside
  each fit, `benchmark.perf.timing`), inference images/s, FLOPs per image (training step and prediction)
  and MFU against the measured matmul peak;
- `bf16_speedup`: per model, bf16-mixed over 32-true training images/s (when both precisions ran);
- `peak`: the matmul peak per precision (the best rate seen in the session; MFU uses the best seen so far);
- `data`: each datamodule's training-loader samples/s and megapixels/s, with `headroom` = megapixels/s
  delivered over the fastest training consumption measured here (below 1: the loader starves training);
- `tg_loss`: the fast TG loss against the naive one, forward + backward (`benchmark.perf.tg_loss`).

Everything is also written to `$RESULTS_DIR/perf/<device>.json` (`{"device", "environment", "options",
"measurements"}`); a later run replaces the measurements it repeats and keeps the others, so partial runs
(`--models unet`) add up. Defaults follow the device: on CUDA the paper widths and sizes at batch 16 in
bf16-mixed and 32-true; on a CPU the quick preset's widths at the paper sizes, batch 4, float32, which takes
minutes per model. The size matters for Lightning / raw: Lightning adds a fixed ~1.5 ms per step, 9% of a 64 x 64
U-Net step on 2 cores (ratio 0.91) but 2% at 256 x 256 (0.98), so the default is the size the issue states.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from benchmark import records
from benchmark.errors import UsageError
from benchmark.fast_paths import networks_of
from benchmark.perf.cases import Case, paper_shape, timeable_models, to_device
from benchmark.perf.data_rate import loader_rate
from benchmark.perf.flop_count import PeakTracker, inference_flops_per_image, train_flops_per_image
from benchmark.perf.timing import PRECISIONS, inference_times, median, paired_step_times

CPU_SIZE, CPU_BATCH = None, 4  # None: each model's paper size (256, SRGAN 96, FI-GAN 64)
TG_BATCH, TG_K_MAX = 8, "half"


@dataclass
class PerfOptions:
    models: list[str]
    datasets: list[str]
    size: int | None = None
    batch: int | None = None
    preset: str = "quick"
    precisions: list[str] = field(default_factory=lambda: ["32-true"])
    steps: int = 5
    warmup: int = 2
    windows: int = 4
    repeats: int = 2
    tg_sizes: list[int] = field(default_factory=lambda: [64, 256, 512])
    tg_repeats: int = 3
    compile: bool = False
    channels_last: bool | None = None
    device: str = "cpu"
    threads: int | None = None
    out: str | None = None

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> PerfOptions:
        """Options from `python -m benchmark perf`, with the defaults of this machine's device."""
        from datamodules import DATASETS

        cuda = torch.cuda.is_available()
        models = _names(args.models, timeable_models(), "--models")
        datasets = [] if args.data == "none" else _names(args.data, list(DATASETS), "--data")
        precisions = ([p.strip() for p in args.precision.split(",") if p.strip()] if args.precision else
                      (["bf16-mixed", "32-true"] if cuda and torch.cuda.is_bf16_supported() else ["32-true"]))
        for precision in precisions:
            if precision not in PRECISIONS:
                raise UsageError(f"--precision {precision!r} is not one of {', '.join(PRECISIONS)}")
        sizes = [] if args.tg_sizes == "none" else [int(s) for s in args.tg_sizes.split(",") if s.strip()]
        return cls(models=models, datasets=datasets, size=args.size if args.size or cuda else CPU_SIZE,
                   batch=args.batch if args.batch or cuda else CPU_BATCH,
                   preset=args.preset or ("paper" if cuda else "quick"), precisions=precisions,
                   steps=args.steps or (20 if cuda else 3), repeats=args.repeats or (3 if cuda else 2),
                   tg_sizes=sizes, compile=args.compile,
                   channels_last={"auto": None, "on": True, "off": False}[args.channels_last],
                   device="cuda" if cuda else "cpu", threads=args.threads, out=args.out)

    def shape(self, model: str) -> tuple[int, int]:
        size, batch = paper_shape(model)
        return self.size or size, self.batch or batch


def _names(value: str, valid: list[str], option: str) -> list[str]:
    names = valid if value.strip() == "all" else [n.strip() for n in value.split(",") if n.strip()]
    unknown = [n for n in names if n not in valid]
    if unknown or not names:
        raise UsageError(f"{option} {','.join(unknown) or value!r}: valid: all, {', '.join(valid)}")
    return names


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return "cpu " + line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "cpu " + (platform.processor() or platform.machine())


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def emit(measurement: dict[str, Any], sink: list[dict[str, Any]]) -> None:
    print(json.dumps(measurement), flush=True)
    sink.append(measurement)


def train_measurement(case: Case, precision: str, options: PerfOptions, peak: float) -> dict[str, Any]:
    """Fits with Lightning and raw windows interleaved, then inference, FLOPs and MFU."""
    device = torch.device(options.device)
    model = case.build()
    batches = case.batches(model)
    log_every = _log_every(case)
    common: dict[str, Any] = {"device": device, "precision": precision, "warmup": options.warmup,
                              "steps": options.steps, "windows": options.windows, "compile": options.compile,
                              "channels_last": options.channels_last}
    lightning, raw = [], []
    for _ in range(options.repeats):  # a fresh fit each time: its start-up cost is not a step cost
        fit_times, raw_times = paired_step_times(model, batches, log_every=log_every, **common)
        lightning += fit_times
        raw += raw_times
    ratios = [r / lt for lt, r in zip(lightning, raw)]
    infer = inference_times(model, batches[0], device, precision, options.warmup, options.steps, options.windows)
    device_batch = to_device(batches[0], device)
    infer_flops = inference_flops_per_image(model, device_batch)
    train_flops = train_flops_per_image(model.to(device), device_batch)
    lightning_rate, raw_rate = case.batch / median(lightning), case.batch / median(raw)
    return {"bench": "train", "model": case.model, "precision": precision, "size": case.size,
            "batch": case.batch, "preset": case.preset, "device": options.device,
            "lightning_images_per_s": round(lightning_rate, 3), "raw_images_per_s": round(raw_rate, 3),
            "lightning_over_raw": round(statistics.median(ratios), 4),
            "lightning_over_raw_windows": [round(r, 4) for r in ratios],
            "inference_images_per_s": round(case.batch / median(infer), 3),
            "train_gflops_per_image": round(train_flops / 1e9, 4),
            "inference_gflops_per_image": round(infer_flops / 1e9, 4),
            "mfu_train": round(lightning_rate * train_flops / peak, 4),
            "mfu_inference": round(case.batch / median(infer) * infer_flops / peak, 4),
            "peak_tflops": round(peak / 1e12, 3), "compile": options.compile,
            "tf32": device.type == "cuda" and torch.get_float32_matmul_precision() != "highest",
            "channels_last": options.channels_last, "steps_per_window": options.steps,
            "windows": len(ratios),
            "parameters": sum(p.numel() for net in networks_of(model).values() for p in net.parameters())}


def _log_every(case: Case) -> int:
    """The preset's `trainer.log_every_n_steps`: the Lightning loop logs as often as a run would."""
    from benchmark.perf.cases import dataset_of
    from benchmark.run_config import RunRequest, prepare

    config = prepare(RunRequest(model=case.model, data=dataset_of(case.model), preset=case.preset))
    return int(config.trainer["log_every_n_steps"])


def tg_measurements(options: PerfOptions) -> list[dict[str, Any]]:
    from benchmark.perf.tg_loss import measure

    return [measure(size, TG_BATCH, TG_K_MAX, options.tg_repeats, options.device) for size in options.tg_sizes]


def run_all(options: PerfOptions) -> list[dict[str, Any]]:
    """Every measurement the options ask for; printed as they come and merged into the device's JSON."""
    threads = torch.get_num_threads()
    if options.threads:  # on a shared CPU, fewer intra-op threads than cores keeps timings meaningful
        torch.set_num_threads(options.threads)
    try:
        return _measure_all(options)
    finally:
        torch.set_num_threads(threads)


def _measure_all(options: PerfOptions) -> list[dict[str, Any]]:
    device = torch.device(options.device)
    name = device_name(device)
    out: list[dict[str, Any]] = []
    peaks = PeakTracker(device)
    for model in options.models:
        size, batch = options.shape(model)
        by_precision = {}
        for precision in options.precisions:
            by_precision[precision] = train_measurement(Case(model, size, batch, options.preset), precision,
                                                        options, peaks.update(precision))
            emit(by_precision[precision], out)
        if {"bf16-mixed", "32-true"} <= set(by_precision):
            speedup = (by_precision["bf16-mixed"]["lightning_images_per_s"]
                       / by_precision["32-true"]["lightning_images_per_s"])
            emit({"bench": "bf16_speedup", "model": model, "size": size, "batch": batch,
                  "speedup": round(speedup, 3), "device": options.device}, out)
    consumption = _fastest_consumption(out)
    for data in options.datasets:
        rate = loader_rate(data, options.preset)
        rate["headroom"] = round(rate["mpixels_per_s"] / consumption, 2) if consumption else None
        rate["consumption_mpixels_per_s"] = round(consumption, 3) if consumption else None
        emit(rate, out)
    for measurement in tg_measurements(options):
        emit(measurement, out)
    for precision in options.precisions:
        emit({"bench": "peak", "precision": precision, "tflops": round(peaks.update(precision) / 1e12, 3),
              "device": options.device}, out)
    save(out, name, options)
    return out


def _fastest_consumption(measurements: list[dict[str, Any]]) -> float | None:
    """Megapixels per second the fastest measured training step consumes (inputs and targets alike)."""
    rates = [m["lightning_images_per_s"] * m["size"] ** 2 / 1e6 for m in measurements if m["bench"] == "train"]
    return max(rates) if rates else None


KEY_FIELDS = ("bench", "model", "dataset", "precision", "size", "batch", "preset", "k_max", "compile",
              "channels_last")


def _key(measurement: dict[str, Any]) -> tuple:
    return tuple(str(measurement.get(k)) for k in KEY_FIELDS)


def save(measurements: list[dict[str, Any]], name: str, options: PerfOptions) -> Path:
    """Merge into `$RESULTS_DIR/perf/<device>.json` (or `--out`): this run's values replace equal keys."""
    path = Path(options.out) if options.out else records.results_dir() / "perf" / f"{slug(name)}.json"
    kept: list[dict[str, Any]] = []
    if path.is_file():
        try:
            kept = json.loads(path.read_text()).get("measurements", [])
        except (ValueError, AttributeError):
            kept = []
    fresh = {_key(m) for m in measurements}
    merged = [m for m in kept if _key(m) not in fresh] + measurements
    records.write_json(path, {"device": name, "updated": time.strftime("%Y-%m-%dT%H:%M:%S"),
                              "environment": {"torch": torch.__version__, "cuda": torch.version.cuda,
                                              "threads": torch.get_num_threads(), "cpus": os.cpu_count(),
                                              "load_average": os.getloadavg()[0]},
                              "options": asdict(options), "measurements": merged})
    print(f"written to {path}", file=sys.stderr, flush=True)
    return path
