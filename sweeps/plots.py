"""The study's figures (PNG, matplotlib without a display): what a reader checks before trusting a best value.

- history.png: validation PSNR per trial and the best so far (did the search converge, or stop early?);
- importances.png: which settings mattered (Optuna's default evaluator; needs a few complete trials);
- k_max.png: validation PSNR against the TG reach, the paper's N/2 marked (FI-GAN spaces);
- pareto.png: validation SSIM against PSNR, the Pareto front highlighted (two-objective studies).
Each function returns the file it wrote, or None when the study cannot support that figure yet.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import optuna
from matplotlib.ticker import MaxNLocator
from optuna.trial import FrozenTrial, TrialState

from sweeps.space import fraction_order


def _save(fig: plt.Figure, path: Path) -> Path:
    fig.tight_layout()
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp, dpi=120)
    plt.close(fig)
    tmp.replace(path)  # atomic: a reader never sees half a figure
    return path


def history(trials: list[FrozenTrial], path: Path, metric: str = "validation PSNR (dB)") -> Path | None:
    done = [t for t in trials if t.state == TrialState.COMPLETE and t.values]
    if not done:
        return None
    fig, ax = plt.subplots(figsize=(6, 3.5))
    xs, ys = [t.number for t in done], [t.values[0] for t in done]
    ax.scatter(xs, ys, s=18, label="complete")
    best, running = float("-inf"), []
    for y in ys:
        best = max(best, y)
        running.append(best)
    ax.step(xs, running, where="post", color="C1", label="best so far")
    pruned = [t for t in trials if t.state == TrialState.PRUNED and t.intermediate_values]
    if pruned:
        ax.scatter([t.number for t in pruned], [list(t.intermediate_values.values())[-1] for t in pruned],
                   marker="x", color="grey", s=18, label="pruned (last value)")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.ticklabel_format(axis="y", useOffset=False)
    ax.set(xlabel="trial", ylabel=metric, title="Optimisation history")
    ax.legend(fontsize=8)
    return _save(fig, path)


def importances(study: optuna.Study, path: Path) -> Path | None:
    done = [t for t in study.get_trials(deepcopy=False) if t.state == TrialState.COMPLETE]
    if len(done) < 3:
        return None
    # One objective: Optuna reads the direction (maximise). Two: PED-ANOVA ranks low targets as good, so
    # the PSNR is negated to ask what makes it high.
    target = None if len(study.directions) == 1 else (lambda t: -t.values[0])
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            scores = optuna.importance.get_param_importances(study, target=target)
    except (ValueError, RuntimeError, ZeroDivisionError):
        return None  # e.g. no parameter varied among the complete trials
    if not scores:
        return None
    names = list(scores)[::-1]
    fig, ax = plt.subplots(figsize=(6, 0.4 * len(names) + 1.2))
    ax.barh(names, [scores[n] for n in names], color="C0")
    ax.set(xlabel="importance for validation PSNR", title="Parameter importances")
    return _save(fig, path)


def k_max(trials: list[FrozenTrial], path: Path, param: str = "k_max") -> Path | None:
    done = [t for t in trials if t.state == TrialState.COMPLETE and param in t.params and t.values]
    if not done:
        return None
    labels = sorted({str(t.params[param]) for t in done}, key=fraction_order)
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for i, label in enumerate(labels):
        ys = sorted(t.values[0] for t in done if str(t.params[param]) == label)
        ax.scatter([i] * len(ys), ys, s=18, color="C0")
        ax.plot([i - 0.25, i + 0.25], [ys[len(ys) // 2]] * 2, color="C1")  # median
    ax.set_xticks(range(len(labels)), [f"{lb}\n(paper)" if lb == "1/2" else lb for lb in labels])
    ax.set(xlabel="k_max as a fraction of the training crop", ylabel="validation PSNR (dB)",
           title="TG reach k_max (line: median)")
    return _save(fig, path)


def pareto(study: optuna.Study, path: Path) -> Path | None:
    done = [t for t in study.get_trials(deepcopy=False) if t.state == TrialState.COMPLETE and t.values]
    if not done or len(done[0].values) < 2:
        return None
    front = {t.number for t in study.best_trials}
    fig, ax = plt.subplots(figsize=(5, 4))
    rest = [t for t in done if t.number not in front]
    best = sorted((t for t in done if t.number in front), key=lambda t: t.values[0])
    ax.scatter([t.values[0] for t in rest], [t.values[1] for t in rest], s=16, color="grey", label="trials")
    ax.plot([t.values[0] for t in best], [t.values[1] for t in best], "o-", color="C3", label="Pareto front")
    ax.ticklabel_format(useOffset=False)
    ax.set(xlabel="validation PSNR (dB)", ylabel="validation SSIM", title="PSNR / SSIM trade-off")
    ax.legend(fontsize=8)
    return _save(fig, path)
