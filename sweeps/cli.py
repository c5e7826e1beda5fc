"""`python -m sweeps`: run, show and best for Optuna studies over a model's hyperparameters.

Every user mistake ends as one line on stderr with exit code 2 (usage) or 1; never a traceback.
Examples:
    python -m sweeps run --model figan-tg --data fluorescence --trials 50 --workers 4
    python -m sweeps run --model figan-tg --data fluorescence --sampler grid --seeds 3
    python -m sweeps run --model figan-tg --data fluorescence --storage journal:///shared/sweeps.log
    python -m sweeps show --study figan-tg-fluorescence-quick
    python -m sweeps best --study figan-tg-fluorescence-quick
"""
from __future__ import annotations

import argparse
import sys
import warnings
from typing import Any

from benchmark.cli import Parser
from benchmark.errors import BenchError, UsageError, exit_code_of

EPILOG = ("Storage: --storage or SWEEPS_STORAGE (default SQLite under $RESULTS_DIR/sweeps/); "
          "sqlite:///f.db, journal:///shared/f.log (or a path ending in .log), postgresql://user:pw@host/db.")


def build_parser() -> Parser:
    parser = Parser(prog="python -m sweeps", description=__doc__.splitlines()[0], epilog=EPILOG)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)

    run = sub.add_parser("run", help="create or join a study and run trials until it holds N of them")
    run.add_argument("--model", required=True)
    run.add_argument("--data", required=True)
    run.add_argument("--trials", type=int, default=None, help="complete+pruned trials in total (default 20; "
                     "grid: variants x seeds)")
    run.add_argument("--preset", default="quick", help="smoke | quick (default) | paper")
    run.add_argument("--storage", default=None, help="where the study lives (see below)")
    run.add_argument("--study", default=None, help="study name (default <model>-<data>-<preset>[-grid|-pareto])")
    run.add_argument("--sampler", default=None, help="tpe (default) | nsga2 (default for psnr,ssim) | random | grid")
    run.add_argument("--pruner", default="median", help="median (default) | hyperband | none")
    run.add_argument("--objective", default="psnr", help="psnr (default) or psnr,ssim (Pareto front)")
    run.add_argument("--timeout", type=float, default=None, help="seconds after which no new trial starts")
    run.add_argument("--workers", default="1", help="worker processes on this node, or auto: one per --devices "
                     "GPUs (1 without GPUs)")
    run.add_argument("--devices", default="1", help="devices per trial (> 1: DDP within each trial)")
    run.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                     help="fixed for every trial, e.g. model.gamma=0 (a fixed parameter is not sampled)")
    run.add_argument("--space", default=None, help="a search-space YAML (default sweeps/spaces/<model>.yaml)")
    run.add_argument("--seeds", type=int, default=None, help="grid: seeds per variant (default from the space)")
    run.add_argument("--seed", type=int, default=0, help="run seed of every sampled trial (default 0)")
    run.add_argument("--data-root", default=None, help="real data folder (default: synthetic data)")
    run.add_argument("--enqueue", action="append", default=[], metavar="PARAMS",
                     help='evaluate these parameters first, e.g. "k_max=1/2 theta=1.0 lr=1.0e-3" (repeatable)')
    run.add_argument("--executor", default="inline", choices=("inline", "local", "slurm"),
                     help="inline or local (default): the workers are processes here; slurm: a job array")
    run.add_argument("--slurm", default=None, metavar="OPTIONS",
                     help='slurm: submitit parameters, e.g. "partition=gpu gpus_per_node=1 timeout_min=240"')
    run.add_argument("--wait", action="store_true", help="slurm: wait for the worker jobs to end")
    _worker_options(run)

    worker = sub.add_parser("worker", help=argparse.SUPPRESS)  # started by `run --workers K`
    worker.add_argument("--study", required=True)
    worker.add_argument("--timeout", type=float, default=None)
    _worker_options(worker)

    for name, text in (("show", "summary table of a study"), ("best", "print the best configuration")):
        cmd = sub.add_parser(name, help=text)
        cmd.add_argument("--study", required=True)
        cmd.add_argument("--storage", default=None)
    return parser


def _worker_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--heartbeat-interval", type=int, default=30, help="seconds between a trial's heartbeats")
    parser.add_argument("--grace-period", type=int, default=120,
                        help="seconds without a heartbeat before a trial counts as dead and is re-queued")
    parser.add_argument("--max-retry", type=int, default=3, help="re-runs of a dead worker's trial")
    parser.add_argument("--max-nonfinite-steps", type=int, default=0,
                        help="non-finite loss steps a trial may skip before it counts as diverged (default 0)")


# -- run -------------------------------------------------------------------------------------------------------
def cmd_run(args: argparse.Namespace) -> int:
    from sweeps import outputs, storage
    from sweeps.plan import parse_enqueue, plan
    from sweeps.study import create_or_join

    args.workers = worker_count(args.workers, args.devices)
    if args.timeout is not None and args.timeout <= 0:
        raise UsageError(f"--timeout {args.timeout}: expected seconds > 0")
    settings = plan(args)
    spec = storage.parse(args.storage)
    if int(settings.devices) > 1 and spec.kind == "journal" and settings.pruner != "none" and not settings.multi:
        raise UsageError("pruning a DDP trial (--devices > 1) needs an RDB storage (SQLite, PostgreSQL, MySQL); "
                         "use one, or --pruner none")
    name = outputs.check_name(args.study or default_name(settings))
    enqueue = parse_enqueue(args.enqueue, settings)
    backend = spec.open(args.heartbeat_interval, args.grace_period, args.max_retry)
    study, settings, created = create_or_join(backend, name, settings, enqueue)
    verb = "created" if created else "joined"
    print(f"sweep {name} ({verb}): {settings.trials} trials of {settings.model} on {settings.data} "
          f"({settings.preset}); objective {','.join(settings.objectives)}, sampler {settings.sampler}, "
          f"pruner {settings.pruner if not (settings.multi or settings.grid) else 'none'}, {args.workers} "
          f"worker(s); storage {spec.masked()}", flush=True)
    if settings.preset_fixed:
        print(f"not sampled, fixed by the {settings.preset} preset: {' '.join(settings.preset_fixed)}", flush=True)
    if args.executor != "slurm" and (args.slurm or args.wait):
        raise UsageError("--slurm and --wait belong to --executor slurm")
    try:
        if args.executor == "slurm":
            from sweeps.cluster import run_on_slurm

            stopped = run_on_slurm(study, spec, args.workers, worker_arguments(args), args.slurm, args.wait)
        elif args.workers == 1:
            stopped = run_here(study, settings, spec, backend, args)
        else:
            stopped = run_workers(study, settings, spec, args)
    finally:
        summary = outputs.write_all(study, settings, spec)
    return finish(summary, stopped, outputs.folder(name))


def worker_count(value: str, devices: str) -> int:
    if str(value) == "auto":
        from sweeps.workers import visible_gpus

        per = int(devices) if str(devices).isdigit() and int(devices) > 0 else 1
        return max(1, len(visible_gpus()) // per)
    if not str(value).isdigit() or int(value) < 1:
        raise UsageError(f"--workers {value!r}: expected a count of at least 1, or auto")
    return int(value)


def default_name(settings: Any) -> str:
    suffix = "-grid" if settings.grid else "-pareto" if settings.multi else ""
    return f"{settings.model}-{settings.data}-{settings.preset}{suffix}"


def run_here(study: Any, settings: Any, spec: Any, backend: Any, args: argparse.Namespace) -> str:
    from sweeps.loop import work
    from sweeps.objective import Objective

    objective = Objective(settings, study.study_name, spec, args.max_nonfinite_steps, args.heartbeat_interval,
                          backend)
    result = work(study, objective, spec, backend, args.timeout, args.grace_period, args.max_retry,
                  announce=lambda line: print(line, flush=True), after_trial=refresh(study, settings, spec))
    return result.stopped


def refresh(study: Any, settings: Any, spec: Any) -> Any:
    """Rewrite the study's outputs after each trial: a long study can be read while it runs."""
    from sweeps import outputs

    return lambda: outputs.write_all(study, settings, spec)


def worker_arguments(args: argparse.Namespace) -> list[str]:
    """The options a `python -m sweeps worker` repeats from `run`."""
    extra = ["--heartbeat-interval", str(args.heartbeat_interval), "--grace-period", str(args.grace_period),
             "--max-retry", str(args.max_retry), "--max-nonfinite-steps", str(args.max_nonfinite_steps)]
    return extra + (["--timeout", str(args.timeout)] if args.timeout is not None else [])


def run_workers(study: Any, settings: Any, spec: Any, args: argparse.Namespace) -> str:
    from sweeps import outputs, workers

    started = workers.spawn(study.study_name, spec, args.workers, int(settings.devices),
                            outputs.folder(study.study_name) / "workers", worker_arguments(args))
    for w in started:
        print(f"worker {w.index}: pid {w.process.pid}" + (f", GPUs {w.gpus}" if w.gpus else "")
              + f", log {w.log}", flush=True)
    codes = workers.supervise(started, study, settings.objectives, announce=lambda line: print(line, flush=True),
                              after_trial=refresh(study, settings, spec))
    failed = [w for w, code in zip(started, codes) if code != 0]
    for w in failed:
        print(f"worker {w.index} exited with code {w.process.returncode}; its log ends:\n"
              f"{spec.scrub(workers.tail(w.log))}", file=sys.stderr)
    from sweeps import accounting

    if accounting.counts(study).done >= int(study.user_attrs["sweeps:settings"]["trials"]):
        return "done"
    if failed:
        raise BenchError(f"{len(failed)} worker(s) failed and the study is incomplete (logs: "
                         f"{failed[0].log.parent})")
    return "timeout"


def finish(summary: dict[str, Any], stopped: str, folder: Any) -> int:
    c = summary["counts"]
    print(f"study {summary['study']}: {c['complete']} complete, {c['pruned']} pruned, {c['failed']} failed "
          f"(target {summary['target_trials']} complete+pruned)"
          + ("; stopped by --timeout" if stopped == "timeout" else "")
          + ("; the SLURM workers carry on" if stopped == "submitted" else ""))
    best = summary.get("best")
    if best:
        values = ", ".join(f"{k} {v:.4g}" for k, v in best["values"].items())
        print(f"best: trial {best['trial']} ({values}) {best['params']}")
    print(f"outputs: {folder}")
    return 0


# -- worker, show, best --------------------------------------------------------------------------------------
def cmd_worker(args: argparse.Namespace) -> int:
    from sweeps import storage
    from sweeps.loop import work
    from sweeps.objective import Objective
    from sweeps.study import load

    spec = storage.parse(None)  # SWEEPS_STORAGE, set by the parent: never on the command line
    backend = spec.open(args.heartbeat_interval, args.grace_period, args.max_retry)
    study, settings = load(backend, args.study)
    objective = Objective(settings, study.study_name, spec, args.max_nonfinite_steps, args.heartbeat_interval,
                          backend)
    result = work(study, objective, spec, backend, args.timeout, args.grace_period, args.max_retry,
                  announce=lambda line: print(line, flush=True))
    print(f"worker finished: {result.trials_run} trial(s) run, stopped: {result.stopped}")
    return 0


def open_existing(args: argparse.Namespace) -> tuple[Any, Any, Any]:
    from pathlib import Path

    from sweeps import storage
    from sweeps.study import load

    spec = storage.parse(args.storage)
    if spec.kind == "sqlite" and not Path(spec.url.removeprefix("sqlite:///")).is_file():
        raise BenchError(f"no sweep storage at {spec.masked()} (run a sweep first, or pass --storage)")
    if spec.kind == "journal" and not Path(spec.url).is_file():
        raise BenchError(f"no sweep storage at {spec.masked()}")
    study, settings = load(spec.open(heartbeat_interval=None), args.study)
    return study, settings, spec


def cmd_show(args: argparse.Namespace) -> int:
    from sweeps import accounting
    from sweeps.outputs import trial_rows

    study, settings, spec = open_existing(args)
    c = accounting.counts(study)
    print(f"study {study.study_name}: {settings.model} on {settings.data} ({settings.preset}), objective "
          f"{','.join(settings.objectives)}, sampler {settings.sampler}; storage {spec.masked()}")
    print(f"{c.complete} complete, {c.pruned} pruned, {c.failed} failed, {c.running} running, {c.waiting} "
          f"waiting; target {settings.trials} complete+pruned")
    rows = trial_rows(study.get_trials(deepcopy=False), settings)
    skip = {"test_ssim", "worker", "retry_of", "run_dir", "duration_s"}
    columns = [k for k in (rows[0] if rows else {}) if k not in skip]
    table = [[_cell(r.get(k)) for k in columns] for r in rows]
    widths = [max([len(k)] + [len(row[i]) for row in table]) for i, k in enumerate(columns)]
    print("  ".join(k.ljust(w) for k, w in zip(columns, widths)))
    for row in table:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip())
    return 0


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    text = str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def cmd_best(args: argparse.Namespace) -> int:
    from sweeps import outputs

    study, settings, _ = open_existing(args)
    trial = outputs.best_trial(study)
    if trial is None:
        raise BenchError(f"study {study.study_name} has no complete trial yet")
    sections, seed = outputs.best_config(trial, settings)
    summary = {"study": study.study_name, "model": settings.model, "data": settings.data,
               "preset": settings.preset,
               "best": {"trial": trial.number, "seed": seed, "config": sections,
                        "run_dir": trial.user_attrs.get("run_dir"),
                        "values": dict(zip([f"val_{o}" for o in settings.objectives], trial.values))}}
    print(outputs.best_yaml(summary, outputs.folder(study.study_name) / "best.yaml"), end="")
    return 0


COMMANDS = {"run": cmd_run, "worker": cmd_worker, "show": cmd_show, "best": cmd_best}


def main(argv: list[str] | None = None) -> int:
    import optuna

    from sweeps import ddp

    # Heartbeats, retries and metric names are "experimental" in Optuna: a notice per call, not news to users.
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    optuna.logging.set_verbosity(optuna.logging.ERROR)  # the sweep prints one line per trial itself

    def command() -> int:
        if ddp.is_joining_rank():
            return ddp.join_trial()
        args = build_parser().parse_args(argv)
        return COMMANDS[args.command](args)

    return exit_code_of(command)
