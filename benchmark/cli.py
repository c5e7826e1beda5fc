"""`python -m benchmark`: run, status, list, leaderboard, evaluate, perf, data check, data download.

Every user mistake ends as one line on stderr and exit code 2 (usage) or 1 (data, files); never a traceback.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any, NoReturn

from benchmark.console import quiet_libraries
from benchmark.errors import BenchError, UsageError, exit_code_of
from benchmark.executors import EXECUTORS

EPILOG = "Examples: python -m benchmark run --model lohiresgan --data mri | python -m benchmark list models --json"


class Parser(argparse.ArgumentParser):
    """argparse that raises UsageError (one line) instead of printing usage and exiting."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def split_names(value: str, registry: dict[str, Any], option: str) -> list[str]:
    """A comma list or `all`, each name checked against the registry."""
    # `all`: every entry that runs without a data folder (datasets with `needs_root` are left out)
    names = ([n for n in registry if not getattr(registry[n], "needs_root", False)] if value.strip() == "all"
             else [n.strip() for n in value.split(",") if n.strip()])
    if not names:
        raise UsageError(f"{option} is empty; valid: all, {', '.join(registry)}")
    for name in names:
        if ":" in name:
            registry.resolve(name)  # a dotted path's own problem (import, not a subclass) in one line
        elif name not in registry:
            raise UsageError(f"{option} {name!r} is not one of all, {', '.join(registry)} "
                             "(or a dotted path pkg.module:Class)")
    return names


def _matrix_arguments(run: argparse.ArgumentParser) -> None:
    """The options that say which runs a matrix holds (`run`, `status`)."""
    run.add_argument("--model", default=None, help="a model name, pkg.module:Class, a comma list, or all")
    run.add_argument("--data", default=None, help="a dataset name, pkg.module:Class, a comma list, or all")
    run.add_argument("--preset", default=None, help="smoke | quick (default) | paper")
    run.add_argument("--seed", type=int, default=None, help="one seed (default 0)")
    run.add_argument("--seeds", type=int, default=None, help="a count: seeds 0..n-1")
    run.add_argument("--data-root", default=None, help="real data folder (default: synthetic data)")
    run.add_argument("--devices", default=None, help="devices per node: auto (default), a count or a list")
    run.add_argument("--num-nodes", type=int, default=None, help="nodes (default 1)")
    run.add_argument("--logger", default=None, help="csv (default, always) or wandb (in addition)")
    run.add_argument("--config", default=None,
                     help="a YAML file with model/data/trainer sections; a run's config.yaml repeats that run")
    run.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                     help="override, e.g. model.lr=1e-4 data.crop_size=64 (repeatable, space-separated ok)")
    run.add_argument("--compile", action="store_true", help="torch.compile each network (GPU nodes)")


def build_parser() -> Parser:
    parser = Parser(prog="python -m benchmark", description=__doc__.splitlines()[0], epilog=EPILOG)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)

    run = sub.add_parser("run", help="train, test and record models on datasets")
    _matrix_arguments(run)
    run.add_argument("--no-leaderboard", action="store_true", help="do not regenerate the leaderboard")
    run.add_argument("--fresh", action="store_true",
                     help="start over: by default an unfinished run of the same configuration resumes")
    run.add_argument("--executor", default="inline", choices=EXECUTORS,
                     help="inline (default: here, one run after another) | local (--jobs at once) | slurm")
    run.add_argument("--jobs", type=int, default=1, help="local: runs at once (cores and GPUs divided)")
    run.add_argument("--slurm", default=None, metavar="OPTIONS",
                     help='slurm: submitit parameters, e.g. "partition=gpu gpus_per_node=1 timeout_min=240"')
    run.add_argument("--wait", action="store_true", help="slurm: wait for the jobs to end")

    status = sub.add_parser("status", help="which runs of a matrix are complete, running, queued or failed")
    _matrix_arguments(status)
    for flag in ("--no-leaderboard", "--fresh", "--wait"):  # accepted, so a run command repeats as status
        status.add_argument(flag, action="store_true", help=argparse.SUPPRESS)
    for option in ("--executor", "--jobs", "--slurm"):
        status.add_argument(option, default=None, help=argparse.SUPPRESS)
    status.add_argument("--json", action="store_true")

    listing = sub.add_parser("list", help="list models or datasets")
    listing.add_argument("what", nargs="?", default="all", choices=["models", "datasets", "all"])
    listing.add_argument("names", nargs="*", help="only these (names or dotted paths)")
    listing.add_argument("--json", action="store_true")

    board = sub.add_parser("leaderboard", help="regenerate the leaderboard from run records")
    board.add_argument("--results", default=None, help="folder holding runs/ (default $RESULTS_DIR or results)")
    board.add_argument("--out", default=None, help="folder the files are written to (default: --results)")
    board.add_argument("--keep-records", action="store_true",
                       help="first copy the shown runs' records into OUT/runs (make reference)")
    board.add_argument("--strict", action="store_true", help="exit 1 when any run record cannot be read")

    evaluate = sub.add_parser("evaluate", help="score a trained checkpoint on a (real) test set")
    evaluate.add_argument("--checkpoint", required=True, help="a .ckpt from a run's checkpoints/ folder")
    evaluate.add_argument("--data", default=None, help="dataset (default: the run's)")
    evaluate.add_argument("--data-root", default=None, help="real data folder (default: synthetic test split)")
    evaluate.add_argument("--devices", default=None, help="devices (default: the run's)")
    evaluate.add_argument("--set", dest="overrides", action="append", default=[], metavar="data.KEY=VALUE")

    perf = sub.add_parser("perf", help="time training, inference, data loading and the TG loss on this device")
    perf.add_argument("--models", default="unet,cgan,cyclegan,lohiresgan,srgan,figan-tg",
                      help="a comma list or all (trainable models only)")
    perf.add_argument("--data", default="all", help="datamodules whose loading rate is measured (none: skip)")
    perf.add_argument("--size", type=int, default=None, help="image side (default: each model's paper size)")
    perf.add_argument("--batch", type=int, default=None, help="batch size (default: 16, FI-GAN 64)")
    perf.add_argument("--preset", default=None, help="network widths: paper (GPU default) or quick (CPU default)")
    perf.add_argument("--precision", default=None, help="comma list, e.g. bf16-mixed,32-true (GPU default)")
    perf.add_argument("--steps", type=int, default=None, help="steps per timed window")
    perf.add_argument("--repeats", type=int, default=None, help="interleaved Lightning/raw rounds")
    perf.add_argument("--tg-sizes", default="64,256,512", help="TG loss sizes (none: skip)")
    perf.add_argument("--compile", action="store_true", help="torch.compile the networks")
    perf.add_argument("--channels-last", default="auto", choices=["auto", "on", "off"])
    perf.add_argument("--threads", type=int, default=None, help="CPU intra-op threads (default: torch's)")
    perf.add_argument("--out", default=None, help="JSON file (default results/perf/<device>.json)")

    data = sub.add_parser("data", help="data utilities")
    data_sub = data.add_subparsers(dest="data_command", required=True, parser_class=Parser)
    check = data_sub.add_parser("check", help="validate and summarise a real-data folder")
    check.add_argument("--data", required=True)
    check.add_argument("--data-root", required=True)
    check.add_argument("--preset", default="quick", help="the preset whose data options apply (default quick)")
    check.add_argument("--config", default=None, help="a YAML file with a data section (a run's config.yaml)")
    check.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    fetch = data_sub.add_parser("download", help="download, verify and unpack a public dataset, then check it")
    fetch.add_argument("name", nargs="?", help="dataset to fetch (--list shows them)")
    fetch.add_argument("--to", help="folder to download and unpack into")
    fetch.add_argument("--list", action="store_true", help="list the known datasets and exit")
    fetch.add_argument("--mirror", default=None, help="fetch <MIRROR>/<file name> instead (checksums still apply)")
    fetch.add_argument("--no-hash-check", action="store_true",
                       help="accept files without a published checksum (their SHA-256 is printed)")
    fetch.add_argument("--no-check", action="store_true", help="skip `data check` on the unpacked folder")
    realism = data_sub.add_parser("realism", help="statistics of the synthetic default against a real folder")
    realism.add_argument("--data", required=True)
    realism.add_argument("--data-root", required=True)
    realism.add_argument("--out", default=None, help="output folder (default: $RESULTS_DIR/realism)")
    realism.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    moved = data_sub.add_parser("transfer", help="score every trained run of a dataset on a real folder: "
                                                 "real gains beside synthetic ones")
    moved.add_argument("--data", required=True)
    moved.add_argument("--data-root", required=True)
    moved.add_argument("--preset", default="quick")
    moved.add_argument("--models", default=None, help="a comma list (default: every trained model)")
    moved.add_argument("--out", default=None,
                       help="output folder (default: $RESULTS_DIR/evaluations/transfer-<data>)")
    return parser


def requests_from_args(args: argparse.Namespace) -> list[Any]:
    """The matrix's runs, one request per (dataset, model, seed), from `run`'s (or `status`'s) options. A
    `--config` holding a `run` section (a run's config.yaml) supplies what the command line leaves out, so
    `run --config <run>/config.yaml` repeats that run."""
    from benchmark.config import FILE_SECTIONS, load_yaml
    from benchmark.run_config import RunRequest
    from datamodules import DATASETS
    from models import MODELS

    saved = load_yaml(Path(args.config), "config file", FILE_SECTIONS) if args.config else {}
    run, execution = saved.get("run") or {}, saved.get("execution") or {}
    model, data = args.model or run.get("model"), args.data or run.get("data")
    if not model or not data:
        raise UsageError("--model and --data are required (or a --config that is a run's config.yaml)")
    if args.seed is not None and args.seeds is not None:
        raise UsageError("--seed and --seeds are exclusive: give one seed or a count")
    if args.seeds is not None and args.seeds < 1:
        raise UsageError(f"--seeds {args.seeds}: expected a count of at least 1")
    data_root = args.data_root if args.data_root is not None else run.get("data_root")
    if data_root and not os.path.isdir(data_root):
        raise BenchError(f"--data-root {data_root} does not exist or is not a folder")
    seed = args.seed if args.seed is not None else run.get("seed", 0)
    seeds = list(range(args.seeds)) if args.seeds else [seed]
    common = {"preset": args.preset or run.get("preset", "quick"), "data_root": data_root,
              "devices": str(args.devices or execution.get("devices", "auto")),
              "num_nodes": args.num_nodes if args.num_nodes is not None else execution.get("num_nodes", 1),
              "logger": args.logger or execution.get("logger", "csv"),
              "compile": args.compile or bool(execution.get("compile", False)),
              "overrides": tuple(item for group in args.overrides for item in group.split()),
              "config": saved or None}
    return [RunRequest(model=m, data=d, seed=s, **common)
            for d in split_names(data, DATASETS, "--data")
            for m in split_names(model, MODELS, "--model") for s in seeds]


def cmd_run(args: argparse.Namespace) -> int:
    from benchmark import leaderboard, records
    from benchmark.runner import execute, prepare
    from benchmark.trainer import is_distributed

    configs = [prepare(r) for r in requests_from_args(args)]  # every usage error surfaces before any training
    if args.executor != "inline":
        from benchmark.executors.matrix import run_matrix

        records.ensure_writable(records.results_dir())
        return run_matrix(args, configs)
    distributed = any(is_distributed(c) for c in configs)
    if _is_rank_zero(distributed):  # one line now, not a traceback from the leaderboard after a matrix
        records.ensure_writable(records.results_dir())
    failures = []
    for config in configs:
        try:
            record = execute(config, resume=not args.fresh)
        except BenchError as exc:
            if len(configs) == 1:
                raise
            record = {"status": "failed", "reason": str(exc)}
            print(f"error: {config.model} on {config.data}: {exc}", file=sys.stderr)
        if record.get("status") not in ("complete", "running"):
            failures.append((config, record.get("reason")))
    if not _is_rank_zero(distributed):  # rank 0 reports for the run; the others only trained
        return 1 if failures else 0
    if not args.no_leaderboard:
        paths = leaderboard.generate()
        print(f"leaderboard: {paths[0]}")
    if len(configs) > 1:
        print(f"{len(configs) - len(failures)}/{len(configs)} runs complete", file=sys.stderr)
        for config, reason in failures:
            print(f"  failed: {config.model} on {config.data} seed {config.seed}: {reason}", file=sys.stderr)
    return 1 if failures else 0


def _is_rank_zero(distributed: bool = True) -> bool:
    """Global rank 0 under any launcher (Lightning's, torchrun, SLURM); see `benchmark.trainer.is_rank_zero`."""
    from benchmark.trainer import is_rank_zero

    return is_rank_zero(distributed)


def cmd_status(args: argparse.Namespace) -> int:
    from benchmark.executors.status import report
    from benchmark.runner import prepare

    print(report([prepare(r) for r in requests_from_args(args)], as_json=args.json))
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from benchmark.catalogue import describe_datasets, describe_models

    out: dict[str, Any] = {}
    from datamodules import DATASETS
    from models import MODELS

    names = tuple(args.names) or None
    for name in names or ():
        if name not in MODELS and name not in DATASETS:
            raise UsageError(f"list: {name!r} is neither a model nor a dataset (python -m benchmark list)")
    if args.what in ("models", "all"):
        out["models"] = describe_models(names)
    if args.what in ("datasets", "all"):
        out["datasets"] = describe_datasets(names)
    if args.json:
        print(json.dumps(out if args.what == "all" else out[args.what], indent=2))
        return 0
    for section, entries in out.items():
        print(f"{section}:")
        for name, info in entries.items():
            print(f"  {name:<12} {info['summary']}")
    return 0


def cmd_leaderboard(args: argparse.Namespace) -> int:
    from pathlib import Path

    from benchmark import leaderboard, records, reference, results

    root = Path(args.results) if args.results else records.results_dir()
    if args.results and not root.is_dir():
        raise BenchError(f"--results {root} does not exist or is not a folder")
    out = Path(args.out) if args.out else root
    records.ensure_writable(out)  # one line, not a traceback from the lock file
    if args.keep_records:
        kept = reference.snapshot(root, out)
        print(f"kept the shown runs' records in {out / 'runs'} ({kept / 1e6:.1f} MB)")
        root = out
    for path in leaderboard.generate(root, out=out):
        print(path)
    unreadable = results.scan(root).unreadable
    if args.strict and unreadable:
        first = unreadable[0]
        raise BenchError(f"--strict: {len(unreadable)} run record(s) cannot be read (first: {first.file}: "
                         f"{first.reason}); all are listed in {out / leaderboard.OUTPUTS[0]}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from benchmark.evaluate import evaluate, print_summary

    if args.data_root and not os.path.isdir(args.data_root):
        raise BenchError(f"--data-root {args.data_root} does not exist or is not a folder")
    overrides = [item for group in args.overrides for item in group.split()]
    result, _ = evaluate(args.checkpoint, args.data, args.data_root, overrides, args.devices)
    if _is_rank_zero():
        print_summary(result)
    return 0


def cmd_perf(args: argparse.Namespace) -> int:
    from benchmark.perf.harness import PerfOptions, run_all

    quiet_libraries()  # again: importing Lightning put its loggers back to INFO
    run_all(PerfOptions.from_args(args))
    return 0


def cmd_data_check(args: argparse.Namespace) -> int:
    from benchmark.run_config import RunRequest, build_datamodule, prepare

    if not os.path.isdir(args.data_root):
        raise BenchError(f"--data-root {args.data_root} does not exist or is not a folder")
    overrides = tuple(item for group in args.overrides for item in group.split())
    layer = None
    if args.config:  # only its data section: the data check builds no model
        from benchmark.config import FILE_SECTIONS, load_yaml

        layer = {"data": load_yaml(Path(args.config), "config file", FILE_SECTIONS).get("data") or {}}
    config = prepare(RunRequest(model="identity", data=args.data, preset=args.preset, data_root=args.data_root,
                                overrides=overrides, config=layer))
    print(json.dumps(build_datamodule(config).summary(), indent=2))
    return 0


def cmd_data_download(args: argparse.Namespace) -> int:
    from pathlib import Path

    from benchmark.downloads import describe, download

    if args.list or not args.name:
        print(describe())
        return 0
    if not args.to:
        raise UsageError("data download: --to DIR is required (where to download and unpack)")
    result = download(args.name, args.to, mirror=args.mirror, check_hash=not args.no_hash_check)
    if args.no_check:
        return 0
    if result.source.verify is not None:
        print(json.dumps(result.source.verify(result.folder), indent=2))
    for check in result.source.checks:
        cmd_data_check(argparse.Namespace(data=check.dataset, data_root=str(Path(args.to) / check.folder),
                                          overrides=list(check.overrides), preset="quick", config=None))
    return 0


def cmd_data_realism(args: argparse.Namespace) -> int:
    from benchmark import realism, records
    from benchmark.config import parameters
    from benchmark.run_config import RunRequest, build_datamodule, prepare

    if not os.path.isdir(args.data_root):
        raise BenchError(f"--data-root {args.data_root} does not exist or is not a folder")
    overrides = tuple(item for group in args.overrides for item in group.split())
    synthetic_config = prepare(RunRequest(model="identity", data=args.data, overrides=overrides))
    if "train_source" in parameters(synthetic_config.data_cls):  # every real image a test image, as `evaluate`
        overrides = (*overrides, "data.train_source=synthetic")
    real_config = prepare(RunRequest(model="identity", data=args.data, data_root=args.data_root,
                                     overrides=overrides))
    report = realism.compare(build_datamodule(synthetic_config), build_datamodule(real_config))
    out = Path(args.out) if args.out else records.results_dir() / "realism"
    paths = realism.write_report(report, out, args.data)
    print(realism.format_table(report))
    print("wrote " + ", ".join(str(p) for p in paths))
    return 0


def cmd_data_transfer(args: argparse.Namespace) -> int:
    from benchmark import records, transfer

    if not os.path.isdir(args.data_root):
        raise BenchError(f"--data-root {args.data_root} does not exist or is not a folder")
    models = [m.strip() for m in args.models.split(",") if m.strip()] if args.models else None
    report = transfer.transfer(args.data, args.data_root, args.preset, models)
    out = Path(args.out) if args.out else records.results_dir() / "evaluations" / f"transfer-{args.data}"
    paths = transfer.write_report(report, out)
    print(transfer.format_table(report))
    print("wrote " + ", ".join(str(p) for p in paths))
    return 0


DATA_COMMANDS = {"check": cmd_data_check, "download": cmd_data_download, "realism": cmd_data_realism,
                 "transfer": cmd_data_transfer}
COMMANDS = {"run": cmd_run, "status": cmd_status, "list": cmd_list, "leaderboard": cmd_leaderboard,
            "evaluate": cmd_evaluate, "perf": cmd_perf}


def main(argv: list[str] | None = None) -> int:
    def command() -> int:
        args = build_parser().parse_args(argv)
        quiet_libraries()  # every command (evaluate, perf, data realism too), not only training runs
        if args.command == "data":
            return DATA_COMMANDS[args.data_command](args)
        return COMMANDS[args.command](args)

    return exit_code_of(command)
