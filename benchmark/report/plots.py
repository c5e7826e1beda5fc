"""The report's figures, drawn with matplotlib (Agg) from run records and their kept test samples.

Per dataset and preset: a sample grid (source | each model | target, same test images, with a zoomed inset
of the same region), an intensity line profile across the target's strongest edge (as FI-GAN's Fig. 5D),
a dot plot per metric (mean and interval per model on an axis around the data, the input and target as
lines), the per-image spread of the ranking metric (box plots), training curves from each run's
`logs/metrics.csv`, quality versus compute, and the ranking's uncertainty (`plots_ranking`: rank
probabilities, significance map). A figure without the data it needs raises `Skipped` with the reason.
"""
from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image  # matplotlib's own image dependency

from benchmark.metrics import METRICS
from benchmark.report import per_image
from benchmark.report.numbers import fmt
from benchmark.report.samples import Samples, load_samples
from benchmark.report.tables import ModelRow, Table

GRID_IMAGES = 2  # test images in the sample grid
DPI = 90
LOSS_KEYS = ("train/g_loss", "train/loss", "train/l1")


class Skipped(Exception):
    """The figure cannot be drawn from these records (the message says why)."""


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def label(text: str) -> str:
    """Record strings as plain text (a '$' would start matplotlib's math mode)."""
    return str(text).replace("$", r"\$")


def short(text: str, width: int = 24) -> str:
    """The end of a long image id (the distinctive part: FMD's level, MRI's slice)."""
    return text if len(text) <= width else "…" + text[-(width - 1):]


def _save(fig: Any, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    buffer = io.BytesIO()
    fig.savefig(buffer, dpi=DPI, format="png", bbox_inches="tight")
    _pyplot().close(fig)
    # A 256-colour palette PNG: half the bytes of matplotlib's RGBA (the HTML page embeds every figure, and
    # the committed reference page must stay small); grey images and flat-coloured plots barely change.
    buffer.seek(0)
    with Image.open(buffer) as image:
        palette = image.convert("RGB").quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
        palette.save(tmp, format="PNG", optimize=True)
    tmp.replace(path)


def _grey(image: np.ndarray) -> np.ndarray:
    """(C, H, W) -> (H, W) for profiles (channel mean)."""
    return image.mean(axis=0) if image.ndim == 3 else image


def _display(image: np.ndarray) -> np.ndarray:
    """(C, H, W) -> what imshow takes: (H, W) grey or (H, W, 3)."""
    image = np.clip(image, 0, 1)
    return image[0] if image.shape[0] == 1 else np.moveaxis(image[:3], 0, -1)


def chosen_runs(table: Table) -> dict[str, dict[str, Any]]:
    """One run per model: of the lowest seed every model has, else each model's lowest seed."""
    common = set.intersection(*(set(r.seeds) for r in table.rows)) if table.rows else set()
    out = {}
    for row in table.rows:
        seed = min(common) if common else row.seeds[0]
        out[row.model] = next(r for r in row.runs if int(r["seed"]) == seed)
    return out


def _samples(table: Table) -> tuple[list[ModelRow], dict[str, Samples], list[str]]:
    runs = chosen_runs(table)
    loaded = {m: s for m, r in runs.items() if (s := load_samples(r.get("_dir", ""))) is not None}
    rows = [r for r in table.rows if r.model in loaded]
    if not rows:
        raise Skipped("no run kept test samples (samples.npz)")
    ids = [i for i in loaded[rows[0].model].ids if all(i in loaded[r.model].ids for r in rows)]
    if not ids:
        raise Skipped("the models' kept samples share no test image id")
    return rows, loaded, ids


def edge_point(target: np.ndarray) -> tuple[int, int, int]:
    """(row, column, half length) of a horizontal segment across the target's strongest vertical edge."""
    grey = _grey(target)
    h, w = grey.shape
    margin_y, margin_x = max(1, h // 8), max(2, w // 8)
    gx = np.abs(grey[:, 2:] - grey[:, :-2])
    inner = gx[margin_y:h - margin_y, margin_x:w - margin_x - 2]
    if inner.size == 0:
        return h // 2, w // 2, max(2, w // 4)
    r, c = np.unravel_index(int(np.argmax(inner)), inner.shape)
    return int(r) + margin_y, int(c) + margin_x + 1, max(4, w // 6)


def zoom_box(target: np.ndarray) -> tuple[int, int, int]:
    """(top, left, side) of the zoomed region: a square around the strongest edge."""
    h, w = target.shape[-2:]
    r, c, _ = edge_point(target)
    side = max(8, min(h, w) // 4)
    top = int(np.clip(r - side // 2, 0, h - side))
    left = int(np.clip(c - side // 2, 0, w - side))
    return top, left, side


def inset_corner(box: tuple[int, int, int], shape: tuple[int, int], size: float = 0.42) -> list[float]:
    """Axes-fraction bounds of the inset, in the corner farthest from the zoomed box (so it never hides it)."""
    top, left, side = box
    h, w = shape
    right = left + side / 2 < w / 2  # box in the left half: inset on the right
    lower = top + side / 2 < h / 2  # box in the upper half: inset at the bottom (image rows grow downwards)
    return [1 - size if right else 0.0, 0.0 if lower else 1 - size, size, size]


def sample_grid(table: Table, path: Path) -> None:
    plt = _pyplot()
    from matplotlib.patches import Rectangle

    rows, loaded, ids = _samples(table)
    ids = ids[:GRID_IMAGES]
    first = loaded[rows[0].model]
    columns = [("source", None)] + [(r.model, r.model) for r in rows] + [("target", None)]
    fig, axes = plt.subplots(len(ids), len(columns), figsize=(1.9 * len(columns), 2.0 * len(ids)), squeeze=False)
    for i, image_id in enumerate(ids):
        k = first.ids.index(image_id)
        box = zoom_box(first.target[k])
        for j, (title, model) in enumerate(columns):
            if model is None:
                image = first.source[k] if title == "source" else first.target[k]
            else:
                image = loaded[model].prediction[loaded[model].ids.index(image_id)]
            ax = axes[i][j]
            shown = _display(image)
            ax.imshow(shown, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
            top, left, side = box
            ax.add_patch(Rectangle((left - 0.5, top - 0.5), side, side, fill=False, edgecolor="yellow", lw=1))
            inset = ax.inset_axes(inset_corner(box, shown.shape[:2]))
            inset.imshow(shown[top:top + side, left:left + side], cmap="gray", vmin=0, vmax=1,
                         interpolation="nearest")
            inset.set_xticks([])
            inset.set_yticks([])
            for spine in inset.spines.values():
                spine.set_edgecolor("yellow")
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title(label(title), fontsize=9)
            if j == 0:
                ax.set_ylabel(label(short(image_id)), fontsize=7)
    fig.suptitle(label(f"{table.dataset} ({table.preset})"), fontsize=10)
    _save(fig, path)


def line_profile(table: Table, path: Path) -> None:
    plt = _pyplot()
    rows, loaded, ids = _samples(table)
    first = loaded[rows[0].model]
    k = first.ids.index(ids[0])
    target = first.target[k]
    r, c, half = edge_point(target)
    w = target.shape[-1]
    x0, x1 = max(0, c - half), min(w, c + half)
    fig, (ax_img, ax) = plt.subplots(1, 2, figsize=(10, 3.4), gridspec_kw={"width_ratios": [1, 2.4]})
    ax_img.imshow(_display(target), cmap="gray", vmin=0, vmax=1)
    ax_img.plot([x0, x1 - 1], [r, r], color="yellow", lw=1.5)
    ax_img.set_title(label(f"target {short(ids[0])}, row {r}"), fontsize=8)
    ax_img.set_xticks([])
    ax_img.set_yticks([])
    xs = np.arange(x0, x1)
    ax.plot(xs, _grey(first.source[k])[r, x0:x1], color="0.6", lw=1.2, ls="--", label="source")
    ax.plot(xs, _grey(target)[r, x0:x1], color="black", lw=2.0, label="target")
    for row in rows:
        s = loaded[row.model]
        ax.plot(xs, _grey(s.prediction[s.ids.index(ids[0])])[r, x0:x1], lw=1.1, label=label(row.model))
    ax.set_xlabel("column (pixels)")
    ax.set_ylabel("intensity")
    ax.legend(fontsize=7, ncol=2, loc="best")
    ax.set_title(label(f"{table.dataset} ({table.preset}): profile across an edge"), fontsize=9)
    _save(fig, path)


def axis_range(values: list[float], pad: float = 0.08) -> tuple[float, float]:
    """Limits that cover every value with a margin: the axis is around the data, never from zero, so a
    3 dB difference at 30 dB is as wide as it is in the table."""
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return 0.0, 1.0
    low, high = min(finite), max(finite)
    span = high - low or max(abs(high) * 0.05, 1e-3)
    return low - pad * span, high + pad * span


def _interval(row: ModelRow, metric: str) -> tuple[float, float]:
    """The error bar of a model's value: the bootstrap 95 % interval of its per-image mean, else ± the std
    over seeds (records without per-image values), else none."""
    mean, std = row.values[metric]
    ci = row.ci.get(metric)
    if ci:
        return ci
    spread = std if math.isfinite(std) else 0.0
    return mean - spread, mean + spread


def metric_dots(table: Table, path: Path) -> None:
    """One dot plot per metric: each model's mean with its interval on an axis around the data, the input
    (dashed) and target (dotted) as lines, seed means as open circles when there are several seeds."""
    plt = _pyplot()
    if not table.rows or not table.metrics:
        raise Skipped("no complete model run")
    n = len(table.metrics)
    cols = min(3, n)
    height = 0.8 + 0.28 * len(table.rows)
    fig, axes = plt.subplots(math.ceil(n / cols), cols, figsize=(4.3 * cols, height * math.ceil(n / cols)),
                             squeeze=False)
    ys = list(range(len(table.rows)))[::-1]  # the table's first row on top
    for ax, m in zip(axes.flat, table.metrics):
        shown: list[float] = []
        for y, row in zip(ys, table.rows):
            mean = row.values[m][0]
            if not math.isfinite(mean):
                continue
            low, high = _interval(row, m)
            colour = "0.45" if row.group == "baseline" else "tab:blue"
            # max(0, .): a record whose per-image file disagrees with its mean still draws (the dot is the mean)
            ax.errorbar([mean], [y], xerr=[[max(0.0, mean - low)], [max(0.0, high - mean)]], fmt="o",
                        color=colour, ms=5, capsize=3)
            seeds = [float((r.get("test") or {}).get(m, math.nan)) for r in row.runs]
            if len(seeds) > 1:
                ax.plot(seeds, [y] * len(seeds), "o", mfc="none", mec=colour, ms=4, alpha=0.7)
            shown += [low, high, *seeds]
        for value, style, colour, name in ((table.input.get(m, (math.nan,))[0], "--", "tab:red", "input"),
                                           (table.target.get(m, (math.nan,))[0], ":", "tab:green", "target")):
            if math.isfinite(value):
                ax.axvline(value, color=colour, ls=style, lw=1.2, label=f"{name} {fmt(value, m)}")
                shown.append(value)
        ax.set_xlim(*axis_range(shown))
        ax.set_yticks(ys)
        ax.set_yticklabels([label(r.model) for r in table.rows], fontsize=7)
        ax.set_ylim(-0.7, len(table.rows) - 0.3)
        ax.grid(axis="x", color="0.9")
        ax.set_title(f"{METRICS[m].title} {METRICS[m].arrow} ({METRICS[m].better} is better)", fontsize=9)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=6, loc="best")
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    fig.suptitle(label(f"{table.dataset} ({table.preset}): mean and 95 % bootstrap interval per model"),
                 fontsize=10)
    fig.tight_layout()
    _save(fig, path)


def spread_metric(table: Table) -> str:
    return next((m for m in ("psnr", "ssim") if m in table.metrics), table.metrics[0] if table.metrics else "")


def per_image_spread(table: Table, path: Path) -> None:
    """Box plots of the per-image values of the ranking metric (PSNR) per model, the input first: whether a
    difference in the means holds for most images or comes from a few."""
    plt = _pyplot()
    metric = spread_metric(table)
    if not metric:
        raise Skipped("no metric")
    names, data = [], []
    inputs = per_image.per_image_means(per_image.load(table.rows[0].runs), f"input_{metric}") if table.rows else []
    if inputs:
        names.append("input")
        data.append(inputs)
    for row in table.rows:
        values = per_image.per_image_means(per_image.load(row.runs), metric)
        if values:
            names.append(row.model)
            data.append(values)
    if len(data) < 2:
        raise Skipped("no run kept per-image values (per_image.csv)")
    fig, ax = plt.subplots(figsize=(7.5, 0.9 + 0.32 * len(data)))
    positions = list(range(len(data)))[::-1]
    parts = ax.boxplot(data, positions=positions, vert=False, widths=0.6, showmeans=True, patch_artist=True,
                       meanprops={"marker": "D", "markerfacecolor": "white", "markeredgecolor": "black",
                                  "markersize": 4}, flierprops={"markersize": 3})
    groups = {r.model: r.group for r in table.rows}
    for box, name in zip(parts["boxes"], names):
        box.set_facecolor("#fde2c8" if name == "input" else "#dddddd" if groups.get(name) == "baseline"
                          else "#cfe0f5")
    ax.set_yticks(positions)
    ax.set_yticklabels([label(n) for n in names], fontsize=7)
    ax.set_xlim(*axis_range([v for values in data for v in values]))
    ax.grid(axis="x", color="0.9")
    images = max(len(v) for v in data)
    ax.set_xlabel(f"{METRICS[metric].title} per test image {METRICS[metric].arrow}")
    ax.set_title(label(f"{table.dataset} ({table.preset}): per-image spread over {images} test images "
                       "(box: quartiles, whiskers 1.5 IQR, diamond: mean)"), fontsize=9)
    fig.tight_layout()
    _save(fig, path)


def read_log(run_dir: str | Path) -> list[dict[str, str]]:
    path = Path(run_dir) / "logs" / "metrics.csv"
    if not path.is_file():
        return []
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _loss_key(rows: list[dict[str, str]]) -> str | None:
    keys = list(rows[0]) if rows else []
    for key in LOSS_KEYS:
        if key in keys:
            return key
    candidates = [k for k in keys if k.startswith("train/") and "loss" in k] or [k for k in keys
                                                                                 if k.startswith("train/")]
    return candidates[0] if candidates else None


def _series(rows: list[dict[str, str]], x: str, y: str) -> tuple[list[float], list[float]]:
    xs, ys = [], []
    for row in rows:
        try:
            xv, yv = float(row.get(x) or "nan"), float(row.get(y) or "nan")
        except ValueError:
            continue
        if math.isfinite(xv) and math.isfinite(yv):
            xs.append(xv)
            ys.append(yv)
    return xs, ys


def training_curves(table: Table, path: Path) -> None:
    plt = _pyplot()
    from matplotlib.ticker import MaxNLocator
    runs = chosen_runs(table)
    logs = {r.model: read_log(runs[r.model].get("_dir", "")) for r in table.rows if r.group == "learned"}
    logs = {m: rows for m, rows in logs.items() if rows}
    if not logs:
        raise Skipped("no learned model's run has logs/metrics.csv")
    fig, (ax_loss, ax_val) = plt.subplots(1, 2, figsize=(10, 3.4))
    for model, rows in logs.items():
        key = _loss_key(rows)
        if key:
            xs, ys = _series(rows, "step", key)
            ax_loss.plot(xs, ys, lw=1, label=label(f"{model} ({key.removeprefix('train/')})"))
        xs, ys = _series(rows, "epoch", "val/psnr")
        ax_val.plot([x + 1 for x in xs], ys, marker="o", ms=3, lw=1, label=label(model))
    ax_loss.set_xlabel("step")
    ax_loss.set_ylabel("training loss")
    losses = [y for line in ax_loss.get_lines() for y in line.get_ydata()]
    if losses and min(losses) > 0 and max(losses) / min(losses) > 20:  # log only when it spans decades
        ax_loss.set_yscale("log")
    epochs = [x for line in ax_val.get_lines() for x in line.get_xdata()]
    if epochs:
        ax_val.set_xlim(0.5, max(epochs) + 0.5)
    ax_val.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax_val.set_xlabel("epoch")
    ax_val.set_ylabel("validation PSNR (dB)")
    for ax in (ax_loss, ax_val):
        if ax.get_lines():
            ax.legend(fontsize=7)
    fig.suptitle(label(f"{table.dataset} ({table.preset}): training"), fontsize=10)
    fig.tight_layout()
    _save(fig, path)


def quality_compute(table: Table, path: Path) -> None:
    plt = _pyplot()
    metric = "psnr" if "psnr" in table.metrics else (table.metrics[0] if table.metrics else None)
    if metric is None:
        raise Skipped("no metric")
    counted = [r for r in table.rows if r.efficiency.get("gflops") is not None
               and math.isfinite(r.values[metric][0])]
    if not counted:
        raise Skipped("no run recorded its GFLOPs")
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    xs = [float(r.efficiency["gflops"]) for r in counted]
    positive = [x for x in xs if x > 0]
    floor = min(positive) / 4 if positive else 0.0  # 0 GFLOPs (the identity) drawn at the axis floor
    for row, x in zip(counted, xs):
        mean, std = row.values[metric]
        shown = x if x > 0 or not positive else floor
        ax.errorbar([shown], [mean], yerr=[std if math.isfinite(std) else 0.0], fmt="o",
                    color="0.45" if row.group == "baseline" else "tab:blue", capsize=3)
        ax.annotate(label(row.model + ("" if x > 0 or not positive else " (0)")), (shown, mean),
                    textcoords="offset points", xytext=(4, 4), fontsize=7)
    if math.isfinite(table.input[metric][0]):
        ax.axhline(table.input[metric][0], color="tab:red", ls="--", lw=1, label="input")
        ax.legend(fontsize=7)
    if positive:
        ax.set_xscale("log")
        ax.set_xlim(floor / 2, max(positive) * 3)
    ax.set_xlabel("GFLOPs per 256 x 256 output")
    ax.set_ylabel(f"{METRICS[metric].title} {METRICS[metric].arrow}")
    missing = [r.model for r in table.rows if r.efficiency.get("gflops") is None]
    title = f"{table.dataset} ({table.preset}): quality vs compute"
    if missing:
        title += f"\nnot counted (numpy): {', '.join(missing)}"
    ax.set_title(label(title), fontsize=9)
    _save(fig, path)


# Imported last: plots_ranking uses the helpers above (`_pyplot`, `_save`, `label`, `Skipped`).
from benchmark.report.plots_ranking import rank_probabilities, significance_map

FIGURES = {"samples": sample_grid, "profile": line_profile, "metrics": metric_dots, "spread": per_image_spread,
           "curves": training_curves, "compute": quality_compute, "ranks": rank_probabilities,
           "significance": significance_map}
