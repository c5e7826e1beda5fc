"""benchmark.results: records as DataFrames, the leaderboard's means rebuilt from them, and records that
cannot be read listed (never silently dropped), with `leaderboard --strict` failing on them."""
from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest

from benchmark import leaderboard, results
from benchmark.cli import main
from benchmark.records import atomic_write_text, write_json

REPO = Path(__file__).resolve().parents[1]
REFERENCE = REPO / "results" / "reference"


def _record(root: Path, model: str, seed: int, psnr: float, **extra: object) -> Path:
    run_id = f"20260101-000000-seed{seed}-{model[:3]}"
    record = {"status": "complete", "dataset": "mri", "model": model, "preset": "quick", "seed": seed,
              "run_id": run_id, "trainable": True, "test": {"psnr": psnr, "ssim": 0.9},
              "input": {"psnr": 15.0, "ssim": 0.5}, "efficiency": {"parameters": {"generator": 10}}, **extra}
    path = root / "runs" / "mri" / model / "quick" / run_id / "metrics.json"
    write_json(path, record)
    return path


def _means_from_csv(path: Path) -> dict[tuple[str, str, str], float]:
    rows = csv.DictReader(io.StringIO(path.read_text(encoding="utf-8")))
    return {(r["dataset"], r["preset"], r["model"]): float(r["psnr_mean"]) for r in rows
            if r["kind"] in ("baseline", "learned") and not r["breakdown"]}


def test_truncated_list_and_fieldless_records_are_listed_and_the_rest_ranked(tmp_path: Path) -> None:
    _record(tmp_path, "unet", 0, 30.0)
    _record(tmp_path, "cgan", 0, 28.0)
    runs = tmp_path / "runs" / "mri"
    truncated = _record(tmp_path, "srgan", 0, 27.0)
    atomic_write_text(truncated, truncated.read_text()[:60])  # cut short mid-object
    atomic_write_text(runs / "cyclegan" / "quick" / "r1" / "metrics.json", "[1, 2, 3]\n")
    write_json(runs / "lohiresgan" / "quick" / "r2" / "metrics.json", {"status": "complete", "model": "x"})

    found = results.scan(tmp_path)
    assert sorted(r["model"] for r in found.records) == ["cgan", "unet"]
    reasons = {Path(u.file).parts[-4]: u.reason for u in found.unreadable}
    assert set(reasons) == {"srgan", "cyclegan", "lohiresgan"}
    assert reasons["srgan"].startswith("not valid JSON") and "list" in reasons["cyclegan"]
    assert "missing" in reasons["lohiresgan"]

    text = leaderboard.generate(tmp_path)[0].read_text(encoding="utf-8")
    listed = text.split("## Unreadable run records")[1].split("\n## ")[0]
    assert all(f"/{m}/quick/" in listed for m in reasons)
    assert re.search(r"\| 1 \| [^|]+ \| unet \|", text) and re.search(r"\| 2 \| [^|]+ \| cgan \|", text)
    for model in reasons:
        assert f"| {model} |" not in text  # never ranked

    assert main(["leaderboard", "--results", str(tmp_path)]) == 0
    assert main(["leaderboard", "--results", str(tmp_path), "--strict"]) == 1


def test_a_record_with_a_wrong_field_type_is_unreadable(tmp_path: Path) -> None:
    _record(tmp_path, "unet", 0, 30.0, test=[30.0])
    (item,) = results.scan(tmp_path).unreadable
    assert item.reason == "field 'test' is list, expected dict"


@pytest.fixture(scope="module")
def smoke_results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("frames") / "results"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RESULTS_DIR", str(root))
        assert main(["run", "--model", "identity,unet", "--data", "mri", "--preset", "smoke", "--seeds", "2",
                     "--no-leaderboard"]) == 0
    leaderboard.generate(root)
    return root


def test_runs_and_images_are_tidy_frames(smoke_results: Path) -> None:
    runs = results.runs(smoke_results)
    assert len(runs) == 4 and set(runs["model"]) == {"identity", "unet"} and set(runs["seed"]) == {0, 1}
    for column in ("dataset", "preset", "data_source", "kind", "psnr", "ssim", "input_psnr", "parameters",
                   "gflops_per_256", "train_seconds", "inference_images_per_s", "peak_memory_mb"):
        assert column in runs.columns, column
    assert dict(zip(runs["model"], runs["kind"])) == {"identity": "baseline", "unet": "learned"}
    images = results.images(smoke_results)
    per_run = images.groupby("run_id")["psnr"].mean()
    assert len(per_run) == 4
    for _, run in runs.iterrows():  # each run's test-set mean is the mean of its images
        assert per_run[run["run_id"]] == pytest.approx(run["psnr"], rel=1e-6)


def test_the_leaderboards_means_are_the_frames_means(smoke_results: Path) -> None:
    runs = results.runs(smoke_results)
    expected = runs.groupby(["dataset", "preset", "model"])["psnr"].mean()
    shown = _means_from_csv(smoke_results / "leaderboard.csv")
    assert shown == {key: float(value) for key, value in expected.items()}


def test_the_committed_reference_records_reproduce_its_leaderboard() -> None:
    if not (REFERENCE / "runs").is_dir():
        pytest.skip("results/reference/ holds no records yet (make reference)")
    chosen = results.latest_per_seed(results.runs(REFERENCE))
    expected = chosen.groupby(["dataset", "preset", "model"])["psnr"].mean()
    assert _means_from_csv(REFERENCE / "leaderboard.csv") == {k: float(v) for k, v in expected.items()}


def test_keep_records_makes_a_reference_that_renders_on_its_own(smoke_results: Path, tmp_path: Path) -> None:
    reference = tmp_path / "reference"
    assert main(["leaderboard", "--results", str(smoke_results), "--out", str(reference), "--keep-records"]) == 0
    kept = sorted(p.relative_to(reference / "runs").parts[-1] for p in (reference / "runs").rglob("*") if p.is_file())
    assert "metrics.json" in kept and "per_image.csv" in kept and not any(k.endswith(".ckpt") for k in kept)
    first = (reference / "LEADERBOARD.md").read_text(encoding="utf-8")
    assert main(["leaderboard", "--results", str(reference)]) == 0  # re-render from the kept records alone
    assert (reference / "LEADERBOARD.md").read_text(encoding="utf-8").split("**Runs summarised:**")[1] \
        .split("## Protocol")[0].replace(str(reference), "") == first.split("**Runs summarised:**")[1] \
        .split("## Protocol")[0].replace(str(reference), "")
    chosen = results.latest_per_seed(results.runs(reference))
    expected = chosen.groupby(["dataset", "preset", "model"])["psnr"].mean()
    assert _means_from_csv(reference / "leaderboard.csv") == {k: float(v) for k, v in expected.items()}
    assert (reference / "figures").is_dir() and not (smoke_results / "runs" / ".runs.new").exists()
