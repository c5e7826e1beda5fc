"""Synthetic-to-real transfer: `python -m benchmark data transfer --data D --data-root PATH`.

Why: the leaderboard ranks models on the synthetic defaults, which is only worth reading if a model's gain there
predicts its gain on real acquisitions. This scores every trained run of a dataset (the newest complete run per
model and seed of one preset) on a real folder through `benchmark.evaluate`, the same path as
`python -m benchmark evaluate`, and sets the gain over the input on the real images beside the gain on the
synthetic test set. Volumetric datasets (MRI) compare true volume metrics (the `volume` protocol); the others
compare per-image gains (their median and the worst image as well as the mean).

Writes `$RESULTS_DIR/evaluations/transfer-<data>/` with transfer.json, transfer.md and samples.png (a few real
test images: input, target and each model's prediction).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch

from benchmark import records
from benchmark.errors import BenchError
from benchmark.evaluate import evaluate, evaluation_config, trained_model
from benchmark.report.tables import shown_records
from benchmark.run_config import build_datamodule

METRICS = ("psnr", "ssim")
SAMPLE_IMAGES = 3
VIEW = 128  # larger images are shown as their central VIEW x VIEW crop, where the detail can be seen


def trained_runs(dataset: str, preset: str, models: list[str] | None = None,
                 root: Path | None = None) -> list[dict[str, Any]]:
    """The runs the leaderboard shows for ``dataset`` x ``preset`` (`tables.shown_records`) that have a
    checkpoint (classical methods have none)."""
    runs = [r for r in shown_records(root) if r["dataset"] == dataset and r["preset"] == preset
            and r.get("checkpoint") and (models is None or r["model"] in models)]
    if not runs:
        raise BenchError(f"no complete trained {preset} runs of {dataset} under {root or records.results_dir()}"
                         f"/runs{' for ' + ','.join(models) if models else ''}: run them first")
    return runs


def gains(summary: dict[str, Any], rows: list[dict[str, Any]] | None) -> dict[str, Any]:
    """Gain over the input: of the volume metrics where the dataset has them, else of the image means, with
    the per-image gains' median and minimum when the rows are given."""
    volume = (summary.get("protocols") or {}).get("volume")
    part = volume if volume else summary
    out: dict[str, Any] = {m: part["test"][m] - part["input"][m] for m in METRICS if m in part["test"]}
    out["input_psnr"] = part["input"]["psnr"]
    if rows and not volume:
        per_image = np.array([row["psnr"] - row["input_psnr"] for row in rows], dtype=np.float64)
        out.update(median_psnr=float(np.median(per_image)), min_psnr=float(per_image.min()),
                   per_image={row["id"]: row["psnr"] - row["input_psnr"] for row in rows})
    return out


def _checkpoint(record: dict[str, Any]) -> Path:
    return Path(record["_dir"]) / "checkpoints" / record["checkpoint"]


def transfer(dataset: str, data_root: str, preset: str = "quick", models: list[str] | None = None,
             root: Path | None = None) -> dict[str, Any]:
    rows = []
    for record in trained_runs(dataset, preset, models, root):
        result, per_image = evaluate(str(_checkpoint(record)), data_root=data_root)
        rows.append({"model": record["model"], "seed": record["seed"], "checkpoint": str(_checkpoint(record)),
                     "synthetic": gains(record, None), "real": gains(result, per_image),
                     "evaluation": result["output"]})
    return {"dataset": dataset, "data_root": data_root, "preset": preset, "runs": rows}


def format_table(report: dict[str, Any]) -> str:
    """Markdown: per run, the gains on the synthetic test set and on the real folder, and how much of the
    synthetic PSNR gain is lost on real data (synthetic minus real; negative: real gains more)."""
    per_image = any("median_psnr" in r["real"] for r in report["runs"])
    head = "| model | seed | synthetic dPSNR | real dPSNR | dPSNR lost on real | synthetic dSSIM | real dSSIM |"
    rule = "|---|---|---|---|---|---|---|"
    if per_image:
        head, rule = head + " real median dPSNR | real worst dPSNR |", rule + "---|---|"
    lines = [head, rule]
    for r in report["runs"]:
        s, t = r["synthetic"], r["real"]
        line = (f"| {r['model']} | {r['seed']} | {s['psnr']:+.2f} | {t['psnr']:+.2f} | {s['psnr'] - t['psnr']:+.2f} | "
                f"{s['ssim']:+.3f} | {t['ssim']:+.3f} |")
        if per_image:
            line += f" {t['median_psnr']:+.2f} | {t['min_psnr']:+.2f} |"
        lines.append(line)
    return "\n".join(lines)


def _view(image: np.ndarray) -> np.ndarray:
    h, w = image.shape
    if max(h, w) <= 1.5 * VIEW:
        return image
    top, left = max(0, (h - VIEW) // 2), max(0, (w - VIEW) // 2)
    return image[top:top + VIEW, left:left + VIEW]


def save_samples(report: dict[str, Any], path: Path) -> None:
    """Input, target and each model's (first seed's) prediction on a few real test images (central crops of
    large ones)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    firsts = {}
    for r in report["runs"]:
        firsts.setdefault(r["model"], r)
    columns: list[tuple[str, list[np.ndarray]]] = []
    for model, r in firsts.items():
        checkpoint = Path(r["checkpoint"])
        config = evaluation_config(checkpoint, data_root=report["data_root"])
        datamodule = build_datamodule(config)
        datamodule.setup("test")
        split = datamodule.splits["test"]
        picks = [int(k) for k in np.linspace(0.3, 0.7, SAMPLE_IMAGES) * (len(split.source) - 1)]
        net = trained_model(config, datamodule, checkpoint).eval()
        with torch.no_grad():  # one image at a time: real images may differ in size
            predictions = [net(split.source[k][None]).clamp(0, 1)[0, 0].numpy() for k in picks]
        if not columns:
            columns = [("input", [split.source[k][0].numpy() for k in picks]),
                       ("target", [split.target[k][0].numpy() for k in picks])]
        columns.append((model, predictions))
    fig, axes = plt.subplots(SAMPLE_IMAGES, len(columns), figsize=(2.2 * len(columns), 2.3 * SAMPLE_IMAGES),
                             squeeze=False)
    for col, (name, images) in enumerate(columns):
        for row in range(SAMPLE_IMAGES):
            axes[row, col].imshow(_view(images[row]), cmap="gray", vmin=0, vmax=1)
            axes[row, col].axis("off")
        axes[0, col].set_title(name, fontsize=9)
    fig.suptitle(f"{report['dataset']}: real test images ({report['data_root']})", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def write_report(report: dict[str, Any], out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "transfer.json", out / "transfer.md", out / "samples.png"]
    records.atomic_write_text(paths[0], json.dumps(report, indent=1))
    records.atomic_write_text(paths[1], format_table(report) + "\n")
    save_samples(report, paths[2])
    return paths
