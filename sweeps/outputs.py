"""The study's folder, `$RESULTS_DIR/sweeps/<study>/`, rewritten whole from the storage after every `run`.

    trials.csv     one row per trial: state, values, parameters, test metrics, worker, reason, run folder
    best.yaml      the best configuration as a config file: `make benchmark ... CONFIG=<it>` reruns it
    summary.md     for people: counts, best trial and its run record, tables, figures
    summary.json   the same for programs (`sweeps.report.summaries`, the leaderboard)
    *.png          `sweeps.plots`
Every file is written atomically, so workers of several nodes finishing together cannot corrupt one.
"""
from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import optuna
import yaml
from optuna.trial import FrozenTrial, TrialState

from benchmark import records
from benchmark.config import merge, parse_overrides
from benchmark.errors import UsageError
from sweeps import accounting, plots, report
from sweeps.settings import SweepSettings
from sweeps.storage import StorageSpec

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def check_name(name: str) -> str:
    if not NAME.match(name):
        raise UsageError(f"--study {name!r}: use letters, digits, '.', '_' and '-' (it names a folder)")
    return name


def folder(study: str) -> Path:
    return records.results_dir() / "sweeps" / check_name(study)


def best_trial(study: optuna.Study) -> FrozenTrial | None:
    """The best complete trial; with two objectives, the Pareto-front trial with the highest PSNR."""
    if len(study.directions) > 1:
        front = study.best_trials
        return max(front, key=lambda t: t.values[0]) if front else None
    done = [t for t in study.get_trials(deepcopy=False) if t.state == TrialState.COMPLETE]
    return max(done, key=lambda t: t.values[0]) if done else None


def best_config(trial: FrozenTrial, settings: SweepSettings) -> tuple[dict[str, Any], int]:
    """The trial's settings as config-file sections: the study's fixed --set, the space parameters its preset
    fixed, and the sampled values; not the rest of the preset (schedule, sizes), so the same file works with
    any preset. Also the seed it ran with."""
    space = settings.search_space()
    fixed = optuna.trial.FixedTrial(trial.params)
    if settings.grid:
        assert space.grid is not None
        sampled, seed = space.grid.suggest(fixed, settings.seeds)
    else:
        sampled, seed = space.suggest(fixed, settings.crop), settings.seed
    fixed = parse_overrides(settings.overrides + settings.preset_fixed)
    return merge(merge({"model": {}, "data": {}, "trainer": {}}, fixed), sampled), seed


def trial_rows(trials: list[FrozenTrial], settings: SweepSettings) -> list[dict[str, Any]]:
    names: list[str] = []
    for t in trials:
        names.extend(k for k in t.params if k not in names)
    rows = []
    for t in trials:
        a = t.user_attrs
        row: dict[str, Any] = {"number": t.number, "state": t.state.name.lower()}
        for i, objective in enumerate(settings.objectives):
            row[f"val_{objective}"] = t.values[i] if t.values else None
        if not settings.multi:
            row["val_ssim"] = a.get("val_ssim")
        row.update({name: t.params.get(name) for name in names})
        row.update({"test_psnr": a.get("test_psnr"), "test_ssim": a.get("test_ssim"),
                    "duration_s": round(t.duration.total_seconds(), 1) if t.duration else None,
                    "worker": a.get("worker"), "retry_of": t.system_attrs.get("failed_trial"),
                    "reason": a.get("reason"), "run_dir": a.get("run_dir")})
        rows.append(row)
    return rows


def write_all(study: optuna.Study, settings: SweepSettings, spec: StorageSpec) -> dict[str, Any]:
    """Write every output; returns the summary (also summary.json)."""
    out = folder(study.study_name)
    out.mkdir(parents=True, exist_ok=True)
    trials = study.get_trials(deepcopy=False)
    rows = trial_rows(trials, settings)
    if rows:
        records.write_csv(out / "trials.csv", rows)
    else:
        records.atomic_write_text(out / "trials.csv", "number,state\n")
    counts = accounting.counts(study)
    summary: dict[str, Any] = {
        "study": study.study_name, "storage": spec.masked(), "model": settings.model, "data": settings.data,
        "preset": settings.preset, "objectives": [f"val_{o}" for o in settings.objectives],
        "sampler": settings.sampler, "pruner": settings.pruner if not (settings.multi or settings.grid) else "none",
        "target_trials": settings.trials, "fixed": settings.overrides, "preset_fixed": settings.preset_fixed,
        "counts": {"complete": counts.complete, "pruned": counts.pruned, "failed": counts.failed,
                   "running": counts.running, "waiting": counts.waiting},
        "updated": time.strftime("%Y-%m-%d %H:%M:%S"), "files": {"trials": "trials.csv"}, "best": None}
    best = best_trial(study)
    if best is not None:
        sections, seed = best_config(best, settings)
        summary["best"] = {"trial": best.number, "values": dict(zip(summary["objectives"], best.values)),
                           "params": best.params, "config": sections, "seed": seed,
                           **{k: best.user_attrs.get(k) for k in ("run_dir", "run_id", "val_ssim", "test_psnr",
                                                                  "test_ssim", "input_psnr", "input_ssim")}}
        records.atomic_write_text(out / "best.yaml", best_yaml(summary, out / "best.yaml"))
        summary["files"]["best"] = "best.yaml"
    if settings.multi:
        summary["pareto"] = [{"trial": t.number, "values": t.values, "params": t.params}
                             for t in sorted(study.best_trials, key=lambda t: t.values[0])]
    if settings.grid:
        variants = list(settings.space.get("grid", {}).get("variants", {}))
        summary["grid"] = report.grid_table(trials, variants)
    if any("k_max" in t.params for t in trials):
        summary["k_max"] = report.k_max_table(trials)
    figures = {"history": (plots.history, trials, out / "history.png"),
               "importances": (plots.importances, study, out / "importances.png"),
               "k_max": (plots.k_max, trials, out / "k_max.png"),
               "pareto": (plots.pareto, study, out / "pareto.png")}
    if settings.grid:
        del figures["importances"]  # nothing was sampled
    if not settings.multi:
        del figures["pareto"]
    for key, (draw, source, path) in figures.items():
        try:
            if draw(source, path) is not None:
                summary["files"][key] = path.name
        except Exception as exc:  # noqa: BLE001 - a figure is a convenience: it never costs the study's results
            summary.setdefault("figure_errors", {})[key] = f"{type(exc).__name__}: {exc}"
    summary["files"]["summary"] = "summary.md"
    records.write_json(out / "summary.json", summary)
    records.atomic_write_text(out / "summary.md", markdown(summary, out))
    return summary


def best_yaml(summary: dict[str, Any], path: Path) -> str:
    """best.yaml's text: a comment saying where it comes from and how to run it, then the sections."""
    best = summary["best"]
    values = ", ".join(f"{k} {v:.4g}" for k, v in best["values"].items())
    head = (f"# Best configuration of sweep study {summary['study']}: trial {best['trial']} ({values}),\n"
            f"# {summary['model']} on {summary['data']}, preset {summary['preset']}, seed {best['seed']}. "
            f"Run it with:\n#   make benchmark MODEL={summary['model']} DATA={summary['data']} "
            f"PRESET={summary['preset']} CONFIG={_relative(path)}\n# Its run record: {best.get('run_dir')}\n")
    return head + yaml.safe_dump(best["config"], sort_keys=False)


def _relative(path: Path) -> Path:
    try:
        return path.relative_to(Path.cwd())
    except ValueError:
        return path


def markdown(s: dict[str, Any], out: Path) -> str:
    c = s["counts"]
    counts = (f"{c['complete']} complete, {c['pruned']} pruned, {c['failed']} failed of {s['target_trials']} "
              f"(objective {', '.join(s['objectives'])}; sampler {s['sampler']}, pruner {s['pruner']}; "
              f"storage `{s['storage']}`; updated {s['updated']}).")
    lines = [f"## Sweep `{s['study']}`: {s['model']} on {s['data']} ({s['preset']})", "", counts, ""]
    if s["fixed"]:
        lines += [f"Fixed for every trial: `{' '.join(s['fixed'])}`.", ""]
    if s.get("preset_fixed"):
        lines += [f"Not sampled, fixed by the {s['preset']} preset: `{' '.join(s['preset_fixed'])}`.", ""]
    best = s.get("best")
    if best:
        values = ", ".join(f"{k} {v:.4g}" for k, v in best["values"].items())
        test = (f" Its test PSNR {best['test_psnr']:.2f} dB, SSIM {best['test_ssim']:.4f}."
                if best.get("test_psnr") is not None and best.get("test_ssim") is not None else "")
        rerun = (f"Rerun it as a benchmark run: `make benchmark MODEL={s['model']} DATA={s['data']} "
                 f"PRESET={s['preset']} CONFIG={_relative(out / 'best.yaml')}`.")
        lines += [f"**Best: trial {best['trial']}** ({values}).{test} Run record: `{best.get('run_dir')}`.",
                  "", "```yaml", yaml.safe_dump(best["config"], sort_keys=False).rstrip(), "```", "", rerun, ""]
    else:
        lines += ["No complete trial yet.", ""]
    if s.get("grid"):
        lines += ["### Controlled experiment (mean ± std over seeds)", "", report.grid_markdown(s["grid"]), ""]
    if s.get("k_max"):
        lines += ["### Validation PSNR by k_max", "", report.k_max_markdown(s["k_max"]), ""]
    if s.get("pareto"):
        lines += ["### Pareto front (validation PSNR, SSIM)", ""]
        lines += [f"- trial {p['trial']}: " + ", ".join(f"{v:.4g}" for v in p["values"]) for p in s["pareto"]]
        lines.append("")
    for key in ("history", "importances", "k_max", "pareto"):
        if key in s["files"]:
            lines.append(f"![{key}]({s['files'][key]})")
    return "\n".join(lines).rstrip() + "\n"
