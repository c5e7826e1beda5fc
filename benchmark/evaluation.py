"""The one evaluation protocol every model is scored by.

The build step makes an :class:`Evaluator` from what the datamodule declares (`evaluator_for`: masked metrics
or not, and its extra metrics, the ones its reference paper reports among them) and hands it to the model; the model's
shared validation and test steps call it. Models therefore never decide how they are scored.

Per-image rows hold every metric for the prediction, `input_<metric>` for the untouched source (the floor)
and, for metrics that need no reference (PIQE, SBR, T/NT), `target_<metric>` for the target itself (what the
reference acquisition achieves), plus the batch's string tags (FMD `noise_level`, `type`).
"""
from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import torch

from benchmark.metrics import FULL_REFERENCE, METRICS


class Evaluator:
    """Scores predictions per image: the prediction against the target and the untouched input against it."""

    def __init__(self, metrics: Iterable[str] = FULL_REFERENCE, masked: bool = True,
                 volumetric: bool = False, extra: Iterable[str] = ()) -> None:
        self.metrics = tuple(dict.fromkeys([*metrics, *extra]))  # ordered, without duplicates
        unknown = [m for m in self.metrics if m not in METRICS]
        if unknown:
            raise ValueError(f"unknown metric(s) {unknown}; known: {', '.join(METRICS)}")
        self.masked, self.volumetric = masked, volumetric

    def better(self) -> dict[str, str]:
        return {m: METRICS[m].better for m in self.metrics}

    def score(self, prediction: torch.Tensor, batch: dict[str, Any],
              names: Iterable[str] | None = None) -> dict[str, torch.Tensor]:
        """Per-image values (B,) of the metrics `names` (default: all of this evaluator's), prediction
        clamped to [0, 1], float32 arithmetic."""
        pred = prediction.detach().float().clamp(0, 1)
        mask = batch.get("mask") if self.masked else None
        chosen = self.metrics if names is None else [m for m in names if m in self.metrics]
        return {m: METRICS[m].of(pred, batch, mask) for m in chosen}

    def rows(self, prediction: torch.Tensor, batch: dict[str, Any]) -> list[dict[str, Any]]:
        """One row per image: id, tags, every metric for the prediction, `input_<metric>` for the source and
        `target_<metric>` for the target (metrics without a reference only)."""
        ours = self.score(prediction, batch)
        floor = self.score(batch["source"], batch)
        no_reference = [m for m in self.metrics if METRICS[m].kind != "full_reference"]
        reference = self.score(batch["target"], batch, no_reference) if no_reference else {}
        size = len(batch["id"])
        tags = [k for k, v in batch.items() if k != "id" and isinstance(v, (list, tuple)) and len(v) == size
                and all(isinstance(x, str) for x in v)]
        rows = []
        for i, image_id in enumerate(batch["id"]):
            row: dict[str, Any] = {"id": image_id}
            row.update({tag: batch[tag][i] for tag in tags})
            row.update({m: float(v[i]) for m, v in ours.items()})
            row.update({f"input_{m}": float(v[i]) for m, v in floor.items()})
            row.update({f"target_{m}": float(v[i]) for m, v in reference.items()})
            rows.append(row)
        return rows


def evaluator_for(datamodule: Any) -> Evaluator:
    """The evaluator a dataset is scored with: its mask rule, volumes and the extra metrics it declares."""
    return Evaluator(masked=datamodule.masked_metrics, volumetric=datamodule.volumetric,
                     extra=datamodule.extra_metrics)


def _mean(values: list[float]) -> float:
    finite = [v for v in values if not math.isnan(v)]
    return sum(finite) / len(finite) if finite else float("nan")


def summarise(rows: list[dict[str, Any]], metrics: Iterable[str], volumetric: bool = False) -> dict[str, Any]:
    """Means over the test set of the prediction's and the input's metrics (NaNs ignored).

    `target`: the target's own values of the metrics without a reference (PIQE, SBR, T/NT), when scored.
    `by_tag`: the same means per value of each string tag (FMD: per noise level and type), so a record
    answers "how good at noise level 1" without its per-image file.
    For volumetric data (ids "<volume>/<slice>") also the per-volume means: each volume's slice mean, then
    the mean over volumes (fastMRI reports per-volume figures).
    """
    metrics = tuple(metrics)

    def means(subset: list[dict[str, Any]], prefix: str) -> dict[str, float]:
        return {m: _mean([r[prefix + m] for r in subset]) for m in metrics if prefix + m in subset[0]}

    out: dict[str, Any] = {
        "test": {m: _mean([r[m] for r in rows]) for m in metrics},
        "input": {m: _mean([r[f"input_{m}"] for r in rows]) for m in metrics},
        "images": len(rows),
    }
    if rows and any(f"target_{m}" in rows[0] for m in metrics):
        out["target"] = means(rows, "target_")
    known = {"id", *metrics, *(f"{p}{m}" for p in ("input_", "target_") for m in metrics)}
    tags = [k for k in (rows[0] if rows else {}) if k not in known and isinstance(rows[0][k], str)]
    if tags:
        out["by_tag"] = {}
        for tag in tags:
            groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
            for r in rows:
                groups[r[tag]].append(r)
            out["by_tag"][tag] = {value: {"test": means(g, ""), "input": means(g, "input_"), "images": len(g)}
                                  for value, g in sorted(groups.items())}
    if volumetric:
        by_volume: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for r in rows:
            by_volume[r["id"].split("/")[0]].append(r)
        for key, prefix in (("test_per_volume", ""), ("input_per_volume", "input_")):
            out[key] = {m: _mean([_mean([r[prefix + m] for r in vol]) for vol in by_volume.values()])
                        for m in metrics}
        out["volumes"] = len(by_volume)
    return out


# -- unit of analysis -------------------------------------------------------------------------------------
# Per-image values are not independent when several images come from one subject or one specimen (slices of a
# brain, noise levels of one FMD field of view): statistics first average them per unit. A datamodule names
# its unit (`unit_of_analysis`); the rule below turns an image id into its unit id. Both the datamodule
# (`PairedDataModule.unit_of`) and the report (from the `unit` of a run record) use these rules.
NOISE_LEVEL_DIRS = ("raw", "avg2", "avg4", "avg8", "avg16")  # FMD's level folders, as in `datamodules.fmd`


def _volume(image_id: str) -> str:
    """"<volume>/<slice>" -> "<volume>"."""
    return image_id.split("/")[0]


def _field_of_view(image_id: str) -> str:
    """FMD ids without their noise level: `<Type>/<fov>/<level>/<capture>` -> `<Type>/<fov>`, synthetic
    `syn<seed>/<type>/<split><i>/<level>` -> `syn<seed>/<type>/<split><i>`, `test_mix/<level>/<name>` ->
    `test_mix/<name>` (test_mix names one specimen across levels); an id without a level stays itself."""
    parts = image_id.split("/")
    levels = [i for i, p in enumerate(parts) if p in NOISE_LEVEL_DIRS]
    if not levels:
        return image_id
    at = levels[0]
    if parts[0] == "test_mix":
        return "/".join(parts[:at] + parts[at + 1:])
    return "/".join(parts[:at])


UNIT_RULES = {"image": lambda image_id: image_id, "volume": _volume, "field of view": _field_of_view}


def unit_id(unit: str, image_id: str) -> str:
    """The id of the unit (of kind `unit`, a key of `UNIT_RULES`) that an image belongs to."""
    rule = UNIT_RULES.get(unit)
    if rule is None:
        raise ValueError(f"unknown unit of analysis {unit!r}; known: {', '.join(UNIT_RULES)}")
    return rule(str(image_id))
