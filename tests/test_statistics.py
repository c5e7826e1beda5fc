"""The report's statistics on constructed data: the unit of analysis, seeds in the test, intervals, ranks.

What must hold (issue 18): slices whose differences are large but whose volume means do not differ are not
significant; a difference that flips with the seed is not significant across seeds; a clear one is.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from benchmark.evaluation import NOISE_LEVEL_DIRS, UNIT_RULES, unit_id
from benchmark.records import write_csv, write_json
from benchmark.report import ranking
from benchmark.report.significance import wilcoxon_p
from benchmark.report.tables import build_tables
from benchmark.report.units import Cells, table_unit, unit_cells
from datamodules import DATASETS
from datamodules.fmd import LEVEL_DIRS

VOLUMES, SLICES = 8, 18
# Per volume: 15 slices 1 dB better, 3 slices 5 dB worse: the volume means are equal (up to a symmetric
# +-0.01), but most slice differences are positive.
SLICE_GAPS = [1.0] * 15 + [-5.0] * 3
VOLUME_JITTER = [0.01, -0.01, 0.02, -0.02, 0.005, -0.005, 0.015, -0.015]


def _slices(gap: float = 0.0) -> tuple[dict[str, float], dict[str, float]]:
    """Per-slice PSNR of two models on VOLUMES volumes; `gap` is added to model a everywhere."""
    a, b = {}, {}
    for v in range(VOLUMES):
        for z, d in enumerate(SLICE_GAPS):
            base = 30.0 + 0.3 * v + 0.05 * z
            a[f"test{v:03d}/z{z:03d}"] = base + d + VOLUME_JITTER[v] + gap
            b[f"test{v:03d}/z{z:03d}"] = base
    return a, b


def _cells(values: dict[str, float], unit: str, seed: int = 0) -> Cells:
    return unit_cells({seed: {i: {"psnr": x} for i, x in values.items()}}, "psnr", unit)


# -- units ----------------------------------------------------------------------------------------------
def test_unit_rules_turn_image_ids_into_volumes_and_fields_of_view() -> None:
    assert unit_id("volume", "sub-01/z012") == "sub-01"
    assert unit_id("field of view", "Confocal_BPAE_B/19/avg4/HV110_P0500510004") == "Confocal_BPAE_B/19"
    assert unit_id("field of view", "syn3/WideField_BPAE_R/test0001/avg16") == "syn3/WideField_BPAE_R/test0001"
    assert unit_id("field of view", "test_mix/raw/Confocal_FISH_3") == "test_mix/Confocal_FISH_3"
    assert unit_id("image", "a/b/c") == "a/b/c"
    with pytest.raises(ValueError, match="unknown unit of analysis 'slab'"):
        unit_id("slab", "x")
    assert tuple(LEVEL_DIRS.values()) == NOISE_LEVEL_DIRS  # the rule knows FMD's level folders


def test_every_dataset_declares_a_known_unit_and_mri_fmd_declare_theirs() -> None:
    for name in DATASETS:
        assert DATASETS[name].unit_of_analysis in UNIT_RULES, name
    assert DATASETS["mri"].unit_of_analysis == "volume" and DATASETS["fmd"].unit_of_analysis == "field of view"
    assert DATASETS["mri"].unit_of("train002/z010") == "train002"
    assert DATASETS["fluorescence"].unit_of("img7") == "img7"


def test_table_unit_prefers_the_records_and_falls_back_by_dataset_name() -> None:
    assert table_unit("mri", [{"unit": "volume"}, {"unit": "volume"}]) == ("volume", "the run records")
    assert table_unit("mri", [{}])[0] == "volume" and table_unit("fmd", [{}])[0] == "field of view"
    assert table_unit("nir", [{}])[0] == "image"
    unit, why = table_unit("mri", [{"unit": "slab"}])
    assert unit == "volume" and "slab" in why


# -- the tests the issue asks for ---------------------------------------------------------------------
def test_large_slice_differences_whose_volume_means_vanish_are_not_significant() -> None:
    a, b = _slices()
    slice_p = wilcoxon_p([a[i] - b[i] for i in a])
    assert slice_p < 1e-3  # what a per-slice test claims: pseudo-replication
    test = ranking.paired_test(_cells(a, "volume"), _cells(b, "volume"))
    assert test.units == VOLUMES and test.p > 0.5
    assert abs(test.difference) < 0.02


def test_a_clear_volume_difference_is_significant() -> None:
    a, b = _slices(gap=1.0)  # every volume 1 dB better
    test = ranking.paired_test(_cells(a, "volume"), _cells(b, "volume"))
    assert test.p == pytest.approx(2 / 2 ** VOLUMES)  # exact Wilcoxon: all 8 volume differences positive
    assert test.p < 0.05 and test.difference == pytest.approx(1.0, abs=0.02)


def _seeded(gaps_by_seed: list[float], units: int = 10, noise: float = 0.05) -> tuple[Cells, Cells]:
    """Two models on the same `units` test cases for each seed; a - b is the seed's gap plus small noise."""
    rng = np.random.default_rng(7)
    a: Cells = {}
    b: Cells = {}
    for seed, gap in enumerate(gaps_by_seed):
        base = rng.normal(30, 2, size=units)
        b[seed] = {f"u{k}": float(base[k]) for k in range(units)}
        a[seed] = {f"u{k}": float(base[k] + gap + rng.normal(0, noise)) for k in range(units)}
    return a, b


def test_a_difference_that_flips_with_the_seed_is_not_significant_across_seeds() -> None:
    a, b = _seeded([1.0, -1.0, 1.0])
    test = ranking.paired_test(a, b)
    assert test.p_units < 0.01  # every unit's seed-averaged difference is about +1/3: units alone are fooled
    assert test.seeds == 3 and test.p_seeds > 0.2 and test.p == test.p_seeds
    assert test.interval[0] < 0 < test.interval[1]


def test_a_clear_difference_over_seeds_and_units_is_significant() -> None:
    a, b = _seeded([1.0, 1.1, 0.9])
    test = ranking.paired_test(a, b)
    assert test.p < 0.01 and test.p_seeds < 0.01
    assert 0.8 < test.interval[0] < test.difference < test.interval[1] < 1.2
    assert test.cohen_dz > 5  # the per-unit gaps barely vary


def test_hierarchical_bootstrap_is_seeded_and_its_interval_widens_with_seed_variance() -> None:
    steady, _ = _seeded([0.0, 0.0, 0.0])
    shaky, _ = _seeded([0.0, 3.0, -3.0])
    first, again = ranking.mean_interval(steady), ranking.mean_interval(steady)
    assert first == again  # fixed seed: reproducible files
    wide = ranking.mean_interval(shaky)
    assert wide[1] - wide[0] > 2 * (first[1] - first[0])
    assert ranking.mean_interval({0: {"only": 1.0}}) is None


def test_nested_design_draws_units_per_seed() -> None:
    cells = {0: {"a": 1.0, "b": 2.0}, 1: {"c": 3.0, "d": 5.0}}  # each seed its own test set
    d = ranking.design({"m": cells})
    assert d is not None and not d.crossed and d.means()[0] == pytest.approx(2.75)
    boot = ranking.replicates(d, resamples=4000)[:, 0]
    assert boot.min() >= 1.0 and boot.max() <= 5.0 and abs(boot.mean() - 2.75) < 0.05


# -- ranks ----------------------------------------------------------------------------------------------
def _models(gaps: dict[str, float], spread: float, seeds: int = 3, units: int = 12) -> dict[str, Cells]:
    rng = np.random.default_rng(1)
    base = rng.normal(30, 1, size=(seeds, units))
    return {m: {s: {f"u{k}": float(base[s, k] + g + rng.normal(0, spread)) for k in range(units)}
                for s in range(seeds)} for m, g in gaps.items()}


def test_well_separated_models_get_single_rank_ranges_and_tau_one() -> None:
    cells = _models({"a": 3.0, "b": 2.0, "c": 1.0, "d": 0.0}, spread=0.05)
    result = ranking.rank_analysis(cells, "psnr", higher_is_better=True)
    assert [result.rank_range(m) for m in "abcd"] == [(1, 1), (2, 2), (3, 3), (4, 4)]
    assert result.tau_median == pytest.approx(1.0)
    probabilities = result.probabilities()
    assert np.allclose(probabilities.sum(axis=1), 1) and probabilities[0, 0] == 1.0
    assert np.nanmax(result.pairwise) < 0.05  # every pair differs, after Holm over the 6 pairs
    lower = ranking.rank_analysis(cells, "nrmse", higher_is_better=False)
    assert lower.rank_range("d") == (1, 1)  # lower is better: the order turns round


def test_indistinguishable_models_get_wide_rank_ranges_and_a_low_tau() -> None:
    cells = _models({"a": 0.0, "b": 0.0, "c": 0.0, "d": 0.0}, spread=1.0)
    result = ranking.rank_analysis(cells, "psnr", higher_is_better=True)
    widths = [hi - lo for lo, hi in (result.rank_range(m) for m in "abcd")]
    assert min(widths) >= 2 and result.tau_median < 0.6
    assert np.nanmin(result.pairwise) > 0.05
    again = ranking.rank_analysis(cells, "psnr", higher_is_better=True)
    assert np.array_equal(result.ranks, again.ranks)


def test_competition_ranks_share_the_best_rank_on_ties() -> None:
    assert ranking.competition_ranks(np.array([3.0, 5.0, 5.0, 1.0]), True).tolist() == [3, 1, 1, 4]
    assert ranking.competition_ranks(np.array([3.0, 5.0, 5.0, 1.0]), False).tolist() == [2, 3, 3, 1]


# -- through the table model, from run records ------------------------------------------------------------
def _record(root: Path, model: str, seed: int, rows: dict[str, float], unit: str | None = "volume") -> None:
    folder = root / "runs" / "mri" / model / "quick" / f"20260101-000000-seed{seed}-{model}"
    write_csv(folder / "per_image.csv", [{"id": i, "psnr": x, "input_psnr": 25.0} for i, x in rows.items()])
    record = {"status": "complete", "dataset": "mri", "model": model, "preset": "quick", "seed": seed,
              "run_id": folder.name, "trainable": True, "test": {"psnr": float(np.mean(list(rows.values())))},
              "input": {"psnr": 25.0}, "efficiency": {"parameters": {"generator": 1}, "train_seconds": 1.0}}
    if unit:
        record["unit"] = unit
    write_json(folder / "metrics.json", record)


def _tables(root: Path) -> list:
    records = []
    for path in sorted(root.glob("runs/*/*/*/*/metrics.json")):
        record = json.loads(path.read_text())
        record["_dir"] = str(path.parent)
        records.append(record)
    return build_tables(records)


def test_the_table_tests_per_volume_not_per_slice(tmp_path: Path) -> None:
    a, b = _slices()
    _record(tmp_path, "modela", 0, a)
    _record(tmp_path, "modelb", 0, b, unit=None)  # an older record without the field: the dataset's unit
    (table,) = _tables(tmp_path)
    assert table.unit == "volume" and table.max_seeds == 1
    loser = next(r for r in table.rows if r.model != table.best["psnr"])
    assert loser.units == VOLUMES and not loser.significant("psnr")
    assert loser.rank_range == (1, 2)  # the volumes cannot tell them apart


def test_the_table_marks_a_clear_difference_and_gives_its_effect(tmp_path: Path) -> None:
    for seed in range(3):
        a, b = _slices(gap=1.0 + 0.1 * seed)
        _record(tmp_path, "modela", seed, a)
        _record(tmp_path, "modelb", seed, b)
    (table,) = _tables(tmp_path)
    loser = next(r for r in table.rows if r.model == "modelb")
    assert table.best["psnr"] == "modela" and loser.significant("psnr")
    test = loser.tests["psnr"]
    assert test.seeds == 3 and test.units == VOLUMES and test.difference == pytest.approx(-1.1, abs=0.02)
    assert loser.rank_range == (2, 2) and table.ranking.tau_median == pytest.approx(1.0)


# -- the outputs --------------------------------------------------------------------------------------------
def _three_models(root: Path, seeds: int) -> None:
    for seed in range(seeds):
        a, b = _slices(gap=1.0 + 0.1 * seed)
        _record(root, "modela", seed, a)
        _record(root, "modelb", seed, b)
        _record(root, "modelc", seed, {k: v + (0.3 if seed % 2 else -0.3) for k, v in b.items()})


def test_markdown_shows_rank_ranges_units_intervals_and_the_ranking_figures(tmp_path: Path) -> None:
    from benchmark import leaderboard

    _three_models(tmp_path, seeds=3)
    text = leaderboard.generate(tmp_path)[0].read_text(encoding="utf-8")
    (table,) = _tables(tmp_path)
    assert "| rank | rank range | model | kind | seeds | units | PSNR ↑ |" in text
    for row in table.rows:
        low, high = row.rank_range
        shown = str(low) if low == high else f"{low}–{high}"
        assert f"| {row.rank} | {shown} | {row.model} | learned | 3 | {VOLUMES} |" in text
    assert "| modela | 1.00 | 1 | 1 | 8 × 3 |" in text  # P(rank 1), median rank, rank range, units × seeds
    assert ("Unit of analysis: the volume (8 volumes per seed, up to 3 seeds per model; unit from the run "
            "records)") in text
    assert f"median {table.ranking.tau_median:.2f}" in text and "seed variance is unknown" not in text
    assert "| model | PSNR ↑ vs modela |" in text and "d_z" in text
    assert "(figures/mri-quick-ranks.png)" in text and "(figures/mri-quick-significance.png)" in text
    assert (tmp_path / "figures" / "mri-quick-ranks.png").stat().st_size > 5000


def test_one_seed_tables_say_the_seed_variance_is_unknown(tmp_path: Path) -> None:
    from benchmark import leaderboard

    _three_models(tmp_path, seeds=1)
    paths = leaderboard.generate(tmp_path)
    assert "**One seed per model: the seed variance is unknown." in paths[0].read_text(encoding="utf-8")
    assert "One seed per model: the seed variance is unknown." in paths[2].read_text(encoding="utf-8")
    assert "the seed variance is unknown" in paths[3].read_text(encoding="utf-8")


def test_kendall_tau_b_matches_scipy_with_ties() -> None:
    from scipy.stats import kendalltau

    rng = np.random.default_rng(5)
    reference = np.array([1, 2, 2, 4, 5, 6])
    rows = rng.integers(1, 5, size=(50, 6))
    ours = ranking.kendall_tau(reference, rows)
    for row, tau in zip(rows, ours):
        expected = kendalltau(reference, row).statistic
        assert (np.isnan(tau) and np.isnan(expected)) or tau == pytest.approx(expected, abs=1e-12)
    assert np.isnan(ranking.kendall_tau(reference, np.ones((1, 6), dtype=int)))[0]
