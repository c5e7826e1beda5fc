"""The report: a smoke matrix through `make leaderboard`, its four files and figures, the statistics against
scipy and hand-computed values, the extra metrics, escaping of hostile names, and the sweeps section."""
from __future__ import annotations

import csv
import io
import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy.stats import wilcoxon

from benchmark import leaderboard
from benchmark.cli import main
from benchmark.evaluation import Evaluator, evaluator_for, summarise
from benchmark.flops import gflops_per_image
from benchmark.metrics import METRICS
from benchmark.piqe import piqe
from benchmark.records import write_json, write_yaml
from benchmark.report import per_image, ranking
from benchmark.report.samples import load_samples
from benchmark.report.significance import holm, wilcoxon_p
from benchmark.report.units import unit_cells
from datamodules import DATASETS

REPO = Path(__file__).resolve().parents[1]
FMD_SMALL = "data.size=64 data.train_fields=8 data.val_fields=1 data.test_fields=2"
FAILED_ID = "20260101-000000-seed0-failed"


def _make_leaderboard(root: Path) -> None:
    """`make leaderboard` with this interpreter, never re-installing (-o: the install stamp counts as done)."""
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    env = {**os.environ, "RESULTS_DIR": str(root)}
    done = subprocess.run(["make", "-s", "-o", ".venv/.installed", "leaderboard", f"PY={sys.executable}"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr


@pytest.fixture(scope="module")
def board(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Smoke runs of identity, unet and lohiresgan on mri (identity with two seeds) and fmd, one failed run."""
    root = tmp_path_factory.mktemp("report") / "results"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RESULTS_DIR", str(root))
        models = "identity,unet,lohiresgan"
        assert main(["run", "--model", models, "--data", "mri", "--preset", "smoke", "--no-leaderboard"]) == 0
        assert main(["run", "--model", "identity", "--data", "mri", "--preset", "smoke", "--seed", "1",
                     "--no-leaderboard"]) == 0
        assert main(["run", "--model", models, "--data", "fmd", "--preset", "smoke", "--set", FMD_SMALL,
                     "--no-leaderboard"]) == 0
    write_json(root / "runs" / "fmd" / "cgan" / "smoke" / FAILED_ID / "metrics.json",
               {"status": "failed", "dataset": "fmd", "model": "cgan", "preset": "smoke", "seed": 0,
                "run_id": FAILED_ID, "reason": "FloatingPointError: training diverged"})
    _make_leaderboard(root)
    return root


# -- the generated files ---------------------------------------------------------------------------------
def test_make_leaderboard_writes_four_files_and_the_figures(board: Path) -> None:
    for name in leaderboard.OUTPUTS:
        assert (board / name).stat().st_size > 500, name
    for dataset in ("mri", "fmd"):
        ranking_figures = ("ranks", "significance") if dataset == "fmd" else ()
        for kind in ("samples", "profile", "metrics", "spread", "curves", "compute") + ranking_figures:
            assert (board / "figures" / f"{dataset}-smoke-{kind}.png").stat().st_size > 5000, (dataset, kind)


def _section(text: str, dataset: str) -> str:
    return text.split(f"## {dataset} — ")[1].split("\n## ")[0]


def test_markdown_has_one_table_per_dataset_with_floor_stats_and_efficiency(board: Path) -> None:
    text = (board / "LEADERBOARD.md").read_text(encoding="utf-8")
    body = text.split("## Protocol")[0]
    assert body.count("## mri — preset `smoke`") == 1 and body.count("## fmd — preset `smoke`") == 1
    assert body.count("| — | — | *input* | floor |") == 2
    assert body.count("| rank | rank range | model | kind | seeds | units | PSNR ↑ | SSIM ↑ | NRMSE ↓ | RMSE ↓ "
                      "| MAE ↓ |") == 2
    mri, fmd = _section(body, "mri"), _section(body, "fmd")
    assert "PIQE ↓" in mri and "| — | *target* | reference |" in mri  # LoHiResGAN's PIQE, and the 3 T PIQE
    assert "PIQE" not in fmd
    mri_identity = next(line for line in mri.splitlines() if "| identity | baseline | 2 | 1 |" in line)
    assert " ± " in mri_identity  # two seeds: mean ± std; one test volume per seed
    # no learned parameters, no training, no computation to time: "—", never 0 or a timer's rate
    assert "| — | 0 | — | — | " in mri_identity
    unet = next(line for line in mri.splitlines() if "| unet | learned |" in line)
    assert " RSS |" in unet and "process peak" not in body
    assert "**Summary:** best: " in mri and "over the input" in mri and "learned models beat the best baseline" in mri
    # 10 images but only 2 fields of view (their noise levels are one specimen): nothing can be significant
    assert " †" not in fmd and "Unit of analysis: the field of view (2 fields of view per seed" in fmd
    assert "| identity | baseline | 1 | 2 |" in fmd and "| unet | learned | 1 | 2 |" in fmd
    assert "One seed per model: the seed variance is unknown" in fmd and "seed variance" not in mri
    assert fmd.index("| identity |") < fmd.index("| unet |")  # baselines before learned models
    for heading in ("generator params", "GFLOPs / 256² output", "train s", "inference img/s", "peak memory MB",
                    "device"):
        assert heading in mri and heading in fmd, heading
    assert "Per noise level" in fmd and "noise level 16" in fmd  # FMD's per-level PSNR / SSIM
    assert "Reported in the papers" in fmd and "27.22" in fmd and "32.71" in fmd
    assert "Reported in the papers" not in mri  # published numbers exist for fluorescence, fmd and nir only
    assert f"cgan seed 0 ({FAILED_ID}): failed: FloatingPointError: training diverged" in fmd
    assert "| cgan |" not in body  # a failed run never appears as numbers
    assert "complete runs on cpu" in text and "total training time" in text and "total wall time" in text
    assert "Holm-Bonferroni" in text and "alpha = 0.05" in text
    assert "(figures/fmd-smoke-samples.png)" in fmd


def test_csv_and_latex_carry_the_same_numbers_and_the_protocol(board: Path) -> None:
    rows = list(csv.DictReader(io.StringIO((board / "leaderboard.csv").read_text(encoding="utf-8"))))
    fmd_unet = next(r for r in rows if r["dataset"] == "fmd" and r["model"] == "unet" and not r["breakdown"])
    assert fmd_unet["unit"] == "field of view" and fmd_unet["units"] == "2"
    assert fmd_unet["psnr_significant"] == "False" and float(fmd_unet["psnr_p_vs_best"]) >= 0.5  # 2 units
    assert float(fmd_unet["psnr_ci95_low"]) <= float(fmd_unet["psnr_mean"]) <= float(fmd_unet["psnr_ci95_high"])
    assert float(fmd_unet["gflops_per_256"]) > 0 and "Wilcoxon" in fmd_unet["protocol"]
    assert any(r["breakdown"] == "noise_level=1" and r["model"] == "input" for r in rows)
    assert any(r["model"] == "cgan" and "diverged" in r["reason"] for r in rows)
    text = (board / "LEADERBOARD.md").read_text(encoding="utf-8")
    assert f"{float(fmd_unet['psnr_mean']):.2f}" in _section(text, "fmd")
    tex = (board / "leaderboard.tex").read_text(encoding="utf-8")
    assert tex.count(r"\begin{tabular}") == 2 and r"\toprule" in tex and "% Protocol:" in tex
    assert r"$^\dagger$" in tex and r"$\uparrow$" in tex


def test_html_is_self_contained_and_states_the_protocol(board: Path) -> None:
    page = (board / "leaderboard.html").read_text(encoding="utf-8")
    assert page.count('<table class="leaderboard sortable">') == 2
    # mri: 6 figures (one test volume of one shared seed: no rank distribution to draw); fmd: 6 + the two ranking ones
    assert page.count("data:image/png;base64,") == 14 and 'src="figures/' not in page
    assert "ranks figure: no rank distribution" in page
    assert page.count('<p class="summary">best: ') == 2 and page.count('<ul class="protocol">') == 2
    assert '<section id="protocol">' in page and "Holm-Bonferroni" in page
    assert "bootstrap 95% CI" in page  # tooltips


def test_records_keep_flops_wall_time_and_samples_for_the_report(board: Path) -> None:
    for path in board.glob("runs/mri/*/smoke/*/metrics.json"):
        record = json.loads(path.read_text())
        eff = record["efficiency"]
        assert eff["wall_seconds"] >= eff["train_seconds"]
        assert (eff["gflops_per_256"] == 0.0) if record["model"] == "identity" else eff["gflops_per_256"] > 0
        samples = load_samples(path.parent)
        ids = [r["id"] for r in per_image.read_rows(path.parent)]
        assert samples is not None and samples.ids == ids[: len(samples.ids)]
        assert samples.prediction[0].shape == samples.target[0].shape == (1, 32, 32)


# -- statistics ---------------------------------------------------------------------------------------------
def test_wilcoxon_matches_scipy_and_the_exact_hand_computed_distribution() -> None:
    a = np.array([31.0, 30.0, 33.0, 34.0, 35.0, 36.0])
    b = np.array([30.0, 32.0, 30.0, 30.0, 30.0, 30.0])  # differences 1, -2, 3, 4, 5, 6
    # W- = 2; of the 64 equally likely sign patterns, 3 have W- <= 2 ({}, {1}, {2}): p = 2 * 3 / 64.
    assert wilcoxon_p(a - b) == pytest.approx(6 / 64, abs=1e-12)
    assert wilcoxon_p(a - b) == pytest.approx(wilcoxon(a, b).pvalue, abs=1e-12)
    assert wilcoxon_p([1, 2, 3, 4, 5, 6]) == pytest.approx(2 / 64, abs=1e-12)  # all one sign
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=80), rng.normal(0.3, 1, size=80)  # large n: scipy's normal approximation
    assert wilcoxon_p(x - y) == pytest.approx(wilcoxon(x, y).pvalue, rel=1e-9)
    assert wilcoxon_p([0.0, 0.0]) == 1.0 and wilcoxon_p([]) is None and wilcoxon_p([math.nan]) is None


def test_holm_bonferroni_by_hand() -> None:
    # sorted 0.01, 0.03, 0.04 -> 3 x 0.01 = 0.03, 2 x 0.03 = 0.06, max(0.06, 1 x 0.04) = 0.06
    assert holm([0.01, 0.04, 0.03, None]) == pytest.approx([0.03, 0.06, 0.06, None])
    assert holm([0.9, 0.8]) == [1.0, 1.0]


def test_pairing_by_seed_and_unit_averages_over_common_seeds() -> None:
    a = {0: {"x": 30.0, "y": 20.0}, 1: {"x": 34.0}, 2: {"x": 99.0}}
    b = {0: {"x": 29.0, "y": 21.0}, 1: {"x": 31.0}}
    # x: seeds 0 and 1 -> (1 + 3) / 2; y: seed 0 only -> -1; seed 2 has no partner
    assert ranking.unit_differences(a, b) == [2.0, -1.0]
    values = {0: {"v1/z0": {"psnr": 30.0}, "v1/z1": {"psnr": 32.0}, "v2/z0": {"psnr": math.nan}}}
    assert unit_cells(values, "psnr", "volume") == {0: {"v1": 31.0}}  # a unit without a finite value is left out


def test_bootstrap_interval_is_reproducible_and_brackets_the_mean() -> None:
    values = np.random.default_rng(0).normal(10, 2, size=50)
    cells = {0: {f"u{i}": float(v) for i, v in enumerate(values)}}
    low, high = ranking.mean_interval(cells)
    assert low < float(np.mean(values)) < high and high - low < 2.0
    assert ranking.mean_interval(cells) == (low, high) and ranking.mean_interval({0: {"u": 1.0}}) is None


# -- metrics the report shows ----------------------------------------------------------------------------
def test_region_ratios_and_piqe_through_the_evaluator() -> None:
    image = torch.full((1, 1, 32, 32), 0.2)
    image[..., 8:16, 8:16] = 0.8  # signal
    tumour = torch.zeros(1, 1, 32, 32, dtype=torch.bool)
    tumour[..., 20:24, 20:24] = True
    image[tumour] = 0.6
    normal = torch.zeros_like(tumour)
    normal[..., 0:4, 0:4] = True
    signal = torch.zeros_like(tumour)
    signal[..., 8:16, 8:16] = True
    batch = {"source": image * 0.5, "target": image, "id": ["a"], "mask": signal, "tumour_mask": tumour,
             "normal_mask": normal, "noise_level": ["4"]}
    evaluator = Evaluator(masked=False, extra=("sbr", "tnr", "piqe"))
    (row,) = evaluator.rows(image, batch)
    background = (0.2 * (1024 - 64 - 16) + 0.6 * 16) / (1024 - 64)  # outside the signal: tissue and tumour
    assert row["sbr"] == pytest.approx(0.8 / background, rel=1e-6)
    assert row["input_sbr"] == pytest.approx(0.8 / background, rel=1e-6)  # a ratio ignores a global gain
    assert row["tnr"] == pytest.approx(0.6 / 0.2, rel=1e-6) and row["target_tnr"] == row["tnr"]
    assert row["piqe"] == pytest.approx(piqe(image[0, 0]), abs=1e-4)
    assert row["input_piqe"] == pytest.approx(piqe(image[0, 0] * 0.5), abs=1e-4)
    assert row["noise_level"] == "4" and "target_psnr" not in row
    no_masks = Evaluator(masked=False, extra=("sbr", "tnr")).rows(image, {k: batch[k] for k in ("source", "target", "id")})
    assert math.isnan(no_masks[0]["sbr"]) and math.isnan(no_masks[0]["tnr"])
    summary = summarise([row], evaluator.metrics)
    assert summary["target"]["tnr"] == pytest.approx(3.0) and summary["by_tag"]["noise_level"]["4"]["images"] == 1


def test_every_metric_declares_direction_and_datasets_get_their_papers_metrics() -> None:
    assert {m.better for m in METRICS.values()} == {"higher", "lower"}
    assert METRICS["piqe"].better == "lower" and METRICS["sbr"].better == METRICS["tnr"].better == "higher"
    assert all(m.protocol for m in METRICS.values())
    assert "piqe" in evaluator_for(DATASETS["mri"]()).metrics
    assert {"sbr", "tnr"} <= set(evaluator_for(DATASETS["nir"]()).metrics)
    assert evaluator_for(DATASETS["fmd"]()).metrics == ("psnr", "ssim", "nrmse", "rmse", "mae")


def test_gflops_counts_a_convolution_by_hand() -> None:
    conv = torch.nn.Conv2d(1, 4, 3, padding=1, bias=False)
    # 2 FLOPs per multiply-add; 4 x 256 x 256 outputs, each 1 x 3 x 3 multiply-adds
    assert gflops_per_image(conv, channels=1) == pytest.approx(2 * 4 * 256 * 256 * 9 / 1e9, rel=1e-9)


# -- hostile names and ids, sweeps ---------------------------------------------------------------------------
EVIL = '<script>alert("x")</script>'


def _hand_record(root: Path, model: str, psnr: float, run_id: str, rows: list[dict], status: str = "complete",
                 dataset: str = "fmd") -> Path:
    folder = root / "runs" / dataset / model.replace("/", "_") / "quick" / run_id.replace("/", "_")
    record = {"status": status, "dataset": dataset, "model": model, "preset": "quick", "seed": 0, "run_id": run_id}
    if status == "complete":
        record.update(test={"psnr": psnr}, input={"psnr": 20.0},
                      efficiency={"parameters": {"generator": 10}, "train_seconds": 1.0, "device": EVIL})
        text = "id,noise_level,psnr,input_psnr\n" + "".join(f"{r['id']},{r['level']},{r['psnr']},20\n" for r in rows)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "per_image.csv").write_text(text)
    else:
        record["reason"] = f"ValueError: {EVIL}"
    write_json(folder / "metrics.json", record)
    return folder


def test_html_escapes_hostile_model_ids_image_ids_and_reasons(tmp_path: Path) -> None:
    rows = [{"id": f"img{i}", "level": "<b>1</b>", "psnr": 25.0 + i} for i in range(8)]
    _hand_record(tmp_path, EVIL, 25.0, "20260101-000000-seed0-aaa", rows)
    _hand_record(tmp_path, "unet", 30.0, "20260101-000000-seed0-bbb",
                 [{**r, "psnr": r["psnr"] + 5} for r in rows])
    _hand_record(tmp_path, "cgan", 0, f"20260101-000000-seed0-{EVIL}", [], status="failed")
    paths = leaderboard.generate(tmp_path)
    page = paths[2].read_text(encoding="utf-8")
    # a row, as text, in the table, per level, and in the intervals and gaps tables
    assert page.count('<td class="name">&lt;script&gt;') == 4
    assert page.count("<script>") == 1 and "<b>1</b>" not in page  # the one script is the page's own
    assert page.split("<script>")[1].lstrip().startswith("document.querySelectorAll('table.sortable')")
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page  # model id, device, failure reason
    assert "&lt;b&gt;1&lt;/b&gt;" in page  # the tag value of per-image rows
    markdown = paths[0].read_text(encoding="utf-8")
    assert "<script>" not in markdown and "&lt;script&gt;" in markdown
    assert "\\textless{}script\\textgreater{}" in paths[3].read_text(encoding="utf-8")


def test_sweeps_section_links_best_trials_to_benchmark_runs(tmp_path: Path) -> None:
    pytest.importorskip("optuna")
    run = _hand_record(tmp_path, "unet", 30.0, "20260101-000000-seed0-ccc", [{"id": "a", "level": "1", "psnr": 30}])
    write_yaml(run / "config.yaml", {"model": {"lr": 0.001}})
    write_json(tmp_path / "sweeps" / "unet-fmd" / "summary.json",
               {"study": "unet-fmd", "model": "unet", "data": "fmd", "preset": "quick", "counts": {"complete": 3},
                "best": {"trial": 2, "values": {"val_psnr": 31.5}, "config": {"model": {"lr": 0.001}},
                         "run_dir": str(tmp_path / "runs" / "fmd" / "unet" / "quick" / "trial2")}})
    text = leaderboard.generate(tmp_path, figures=False)[0].read_text(encoding="utf-8")
    section = text.split("## Sweeps")[1].split("## Protocol")[0]
    assert "| unet-fmd | unet | fmd | quick | 2 | val_psnr 31.5 |" in section
    assert "(runs/fmd/unet/quick/20260101-000000-seed0-ccc)" in section


def test_provenance_counts_only_the_runs_the_tables_show():
    from benchmark.report.provenance import provenance

    def record(run_id: str, seed: int, train: float, **extra) -> dict:
        return {"status": "complete", "dataset": "fmd", "model": "unet", "preset": "quick", "seed": seed,
                "run_id": run_id, "efficiency": {"train_seconds": train, "wall_seconds": train + 1}, **extra}

    runs = [record("20260101-000000-seed0-a", 0, 100.0),  # replaced by the rerun below
            record("20260102-000000-seed0-b", 0, 10.0), record("20260101-000000-seed1-c", 1, 20.0),
            record("20260103-000000-seed0-d", 0, 5.0, sweep={"study": "s"})]  # a sweep trial: never counted
    shown = provenance(runs)
    assert shown.runs == 2 and shown.train_seconds == 30.0 and shown.wall_seconds == 32.0
