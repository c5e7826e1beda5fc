"""The one evaluation protocol every model is scored by.

The build step makes an :class:`Evaluator` from what the datamodule declares (`evaluator_for`: masked metrics
or not, and its extra metrics, the ones its reference paper reports among them) and hands it to the model; the model's
shared validation and test steps call it. Models therefore never decide how they are scored.

Per-image rows hold every metric for the prediction, `input_<metric>` for the untouched source (the floor)
and, for metrics that need no reference (PIQE, SBR, T/NT), `target_<metric>` for the target itself (what the
reference acquisition achieves), plus the batch's string tags (FMD `noise_level`, `type`).

Volume-level protocols (`benchmark.volume_protocols`: true volume metrics, the ULF-EnC challenge score,
morphometry) need whole volumes, not rows: when a datamodule declares ``volume_protocols``, the evaluator
also keeps each test slice (prediction, source, target, mask, on the CPU) under its volume (the id's part
before ``/``), and `Evaluator.volume_summary` stacks each volume's slices in id order and scores it.
Under DDP each process holds part of the slices: `Evaluator.gather` (called where the test rows are
gathered) unites them first.
"""
from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import numpy as np
import torch
import torch.distributed as dist

from benchmark import volume_protocols
from benchmark.metrics import FULL_REFERENCE, METRICS

Slice = tuple[str, np.ndarray, np.ndarray, np.ndarray, np.ndarray]  # id, prediction, source, target, mask


class Evaluator:
    """Scores predictions per image: the prediction against the target and the untouched input against it."""

    def __init__(self, metrics: Iterable[str] = FULL_REFERENCE, masked: bool = True,
                 volumetric: bool = False, extra: Iterable[str] = (),
                 protocols: dict[str, dict[str, Any]] | None = None,
                 headline: dict[str, str] | None = None) -> None:
        self.metrics = tuple(dict.fromkeys([*metrics, *extra]))  # ordered, without duplicates
        unknown = [m for m in self.metrics if m not in METRICS]
        if unknown:
            raise ValueError(f"unknown metric(s) {unknown}; known: {', '.join(METRICS)}")
        self.masked, self.volumetric = masked, volumetric
        self.headline = dict(headline or {})  # tag -> value: the rows the headline means are over
        self.protocols = [volume_protocols.build(name, options) for name, options in (protocols or {}).items()]
        self.slices: dict[str, dict[str, Slice]] = defaultdict(dict)  # volume -> slice id -> slice
        self.volume_rows: list[dict[str, Any]] = []
        self._gathered = False

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
        if self.protocols:
            self._keep(prediction, batch)
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

    def summary(self, rows: list[dict[str, Any]]) -> dict[str, Any]:
        """`summarise` of the test rows with everything this evaluator knows: volumes, protocols, headline."""
        return summarise(rows, self.metrics, self.volumetric, self.volume_summary(), self.headline)

    # -- volume-level protocols ------------------------------------------------------------------------------
    def _keep(self, prediction: torch.Tensor, batch: dict[str, Any]) -> None:
        """Keep each slice of the batch (first channel) under its volume for the volume protocols."""
        pred = prediction.detach().float().clamp(0, 1)[:, 0].cpu().numpy()
        source, target = (batch[k].detach().float()[:, 0].cpu().numpy() for k in ("source", "target"))
        mask = batch.get("mask") if self.masked else None
        masks = (np.ones_like(target, dtype=bool) if mask is None
                 else mask.detach()[:, 0].bool().cpu().numpy())
        for i, image_id in enumerate(batch["id"]):  # a slice scored again (a second test) replaces itself
            image_id = str(image_id)
            self.slices[image_id.split("/")[0]][image_id] = (image_id, pred[i], source[i], target[i], masks[i])

    def gather(self) -> None:
        """Unite the kept slices of every process (DDP); duplicates from a padded sampler are dropped."""
        if self.protocols and dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
            parts: list[dict[str, dict[str, Slice]]] = [{} for _ in range(dist.get_world_size())]
            dist.all_gather_object(parts, dict(self.slices))
            merged: dict[str, dict[str, Slice]] = defaultdict(dict)
            for part in parts:
                for volume, kept in part.items():
                    for image_id, item in kept.items():
                        merged[volume].setdefault(image_id, item)
            self.slices = merged
        self._gathered = True

    def volume_summary(self) -> dict[str, Any]:
        """Every declared volume protocol on every kept volume: means over volumes, per protocol.

        Returns ``{"protocols": {name: {"test", "input", "better", "volumes", "description"}}}`` and, from the
        ``volume`` protocol, ``test_per_volume`` / ``input_per_volume`` (true volume metrics); per-volume values
        are left in ``volume_rows``. Empty without protocols, or under DDP before `gather`.
        """
        if not self.protocols or not self.slices:
            return {}
        if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1 and not self._gathered:
            return {}  # partial volumes would be scored as whole ones
        rows: list[dict[str, Any]] = []
        for volume, kept in sorted(self.slices.items()):
            ordered = [kept[image_id] for image_id in sorted(kept)]
            pred, source, target, mask = (np.stack([item[k] for item in ordered]) for k in range(1, 5))
            row: dict[str, Any] = {"volume": volume, "slices": len(ordered)}
            for protocol in self.protocols:
                row.update({f"{protocol.name}/{m}": v for m, v in protocol(pred, target, mask).items()})
                row.update({f"input_{protocol.name}/{m}": v for m, v in protocol(source, target, mask).items()})
            rows.append(row)
        self.volume_rows = rows
        out: dict[str, Any] = {"protocols": {}}
        for protocol in self.protocols:
            means = {prefix: {m: _mean([r[f"{prefix}{protocol.name}/{m}"] for r in rows]) for m in protocol.better}
                     for prefix in ("", "input_")}
            if protocol.name == "ulf_enc":  # the challenge forms its score from the means (linear: the same)
                for part in means.values():
                    part["score"] = volume_protocols.ulf_enc_score(part["ssim"], part["psnr"], part["mae"],
                                                                   part["nmse"])
            out["protocols"][protocol.name] = {"test": means[""], "input": means["input_"],
                                               "better": dict(protocol.better), "volumes": len(rows),
                                               "description": protocol.description}
            if protocol.name == "volume":
                out["test_per_volume"], out["input_per_volume"] = means[""], means["input_"]
        return out


def evaluator_for(datamodule: Any) -> Evaluator:
    """The evaluator a dataset is scored with: its mask rule, volumes, the extra metrics it declares, its
    volume-level protocols and the tag values its headline means are over."""
    return Evaluator(masked=datamodule.masked_metrics, volumetric=datamodule.volumetric,
                     extra=datamodule.extra_metrics, protocols=getattr(datamodule, "volume_protocols", None),
                     headline=getattr(datamodule, "headline", None))


def _mean(values: list[float]) -> float:
    finite = [v for v in values if not math.isnan(v)]
    return sum(finite) / len(finite) if finite else float("nan")


def ratio_gains(subset: list[dict[str, Any]], metrics: Iterable[str]) -> dict[str, dict[str, float]]:
    """For region ratios (SBR, T/NT): the input's, prediction's and target's means and the gain
    prediction / input, as Ma et al. (PNAS 2021) report SBR and T/NT before and after translation."""
    out = {}
    for m in metrics:
        if METRICS[m].kind != "region" or not subset or f"target_{m}" not in subset[0]:
            continue
        values = {"input": _mean([r[f"input_{m}"] for r in subset]), "prediction": _mean([r[m] for r in subset]),
                  "target": _mean([r[f"target_{m}"] for r in subset])}
        values["gain"] = values["prediction"] / values["input"] if values["input"] > 0 else float("nan")
        out[m] = values
    return out


def summarise(rows: list[dict[str, Any]], metrics: Iterable[str], volumetric: bool = False,
              volumes: dict[str, Any] | None = None, headline: dict[str, str] | None = None) -> dict[str, Any]:
    """Means over the test set of the prediction's and the input's metrics (NaNs ignored).

    `target`: the target's own values of the metrics without a reference (PIQE, SBR, T/NT), when scored.
    `by_tag`: the same means per value of each string tag (FMD: per noise level and type), so a record
    answers "how good at noise level 1" without its per-image file.
    For volumetric data (ids "<volume>/<slice>") also the per-volume means: each volume's slice mean, then
    the mean over volumes (fastMRI reports per-volume figures). ``volumes``: an `Evaluator.volume_summary`;
    its protocols are added, and its true volume metrics replace the slice means of ``*_per_volume``.
    ``headline`` (tag -> value, e.g. NIR's ``band: nir_iia``): the headline means are over the rows with
    those tag values only (``images`` counts them); every group is still in ``by_tag``.
    `ratios`: the region ratios' input / prediction / target means and gain (also per tag group).
    """
    metrics = tuple(metrics)
    every = rows
    if headline:  # rows without the tags (a dataset whose test set has no such group) all count
        chosen = [r for r in rows if all(r.get(tag) == value for tag, value in headline.items())]
        rows = chosen or rows

    def means(subset: list[dict[str, Any]], prefix: str) -> dict[str, float]:
        return {m: _mean([r[prefix + m] for r in subset]) for m in metrics if prefix + m in subset[0]}

    out: dict[str, Any] = {
        "test": {m: _mean([r[m] for r in rows]) for m in metrics},
        "input": {m: _mean([r[f"input_{m}"] for r in rows]) for m in metrics},
        "images": len(rows),
    }
    if headline:  # the report reads per_image.csv with the same filter (benchmark.report.per_image)
        out["headline"] = dict(headline)
    if rows and any(f"target_{m}" in rows[0] for m in metrics):
        out["target"] = means(rows, "target_")
    if ratio_gains(rows, metrics):
        out["ratios"] = ratio_gains(rows, metrics)
    known = {"id", *metrics, *(f"{p}{m}" for p in ("input_", "target_") for m in metrics)}
    tags = [k for k in (every[0] if every else {}) if k not in known and isinstance(every[0][k], str)]
    if tags:
        out["by_tag"] = {}
        for tag in tags:
            groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
            for r in every:
                groups[r[tag]].append(r)
            out["by_tag"][tag] = {}
            for value, g in sorted(groups.items()):
                block = {"test": means(g, ""), "input": means(g, "input_"), "images": len(g)}
                if any(f"target_{m}" in g[0] for m in metrics):
                    block["target"] = means(g, "target_")
                if ratio_gains(g, metrics):
                    block["ratios"] = ratio_gains(g, metrics)
                out["by_tag"][tag][value] = block
    if volumetric:
        by_volume: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for r in rows:
            by_volume[r["id"].split("/")[0]].append(r)
        for key, prefix in (("test_per_volume", ""), ("input_per_volume", "input_")):
            out[key] = {m: _mean([_mean([r[prefix + m] for r in vol]) for vol in by_volume.values()])
                        for m in metrics}
        out["volumes"] = len(by_volume)
    if volumes:
        out.update(volumes)
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
