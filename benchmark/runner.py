"""Train, test and record one model on one dataset: the benchmark's single code path.

Input problems (unknown names, bad options, bad data) are raised before anything is written. Once the run
folder exists, any failure during training or testing is recorded as `status: failed` with its reason; Ctrl-C
and SIGTERM as `status: interrupted`. A run killed or interrupted resumes when the same command is run again
(`benchmark.resume`, `benchmark.checkpoints`).
"""
from __future__ import annotations

import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import EarlyStopping
from lightning.pytorch.utilities.exceptions import SIGTERMException

from benchmark import checkpoints, records
from benchmark.config import build_config, merge, parameters
from benchmark.errors import UsageError
from benchmark.evaluation import evaluator_for, summarise
from benchmark.fast_paths import default_num_workers
from benchmark.figures import save_sample_figure
from benchmark.flops import gflops_per_image
from benchmark.memory import PeakMemory
from benchmark.report.samples import FILE as SAMPLES_FILE
from benchmark.report.samples import save_samples
from benchmark.resume import (
    claim,
    keep_log_history,
    mark_stage_done,
    merge_log_history,
    shared_run_id,
    stage_done,
)
from benchmark.trainer import is_distributed, is_rank_zero, make_trainer
from benchmark.wandb_logging import log_test_results
from datamodules import DATASETS
from datamodules.base import PairedDataModule
from models import MODELS
from models.base import TranslationModel
from models.stages import StagedModel, TrainingStage


@dataclass
class RunRequest:
    model: str
    data: str
    preset: str = "quick"
    seed: int = 0
    data_root: str | None = None
    devices: str = "auto"
    num_nodes: int = 1
    logger: str = "csv"
    overrides: list[str] = field(default_factory=list)
    config_file: str | None = None
    compile: bool = False  # torch.compile each network (`benchmark.fast_paths`)


def resolve(name: str, registry: Any, option: str) -> Any:
    """A class by registered name or dotted path (`benchmark.registry`); one line naming `option` otherwise."""
    if hasattr(registry, "resolve"):
        return registry.resolve(name)
    if name not in registry:
        raise UsageError(f"{option} {name!r} is not one of {', '.join(registry)}")
    return registry[name]


def prepare(request: RunRequest) -> dict[str, Any]:
    """The effective configuration, fully validated; raises UsageError on any bad name, key or value."""
    model_cls = resolve(request.model, MODELS, "--model")
    data_cls = resolve(request.data, DATASETS, "--data")
    config = build_config(request.model, request.data, request.preset, model_cls, data_cls,
                          request.overrides, request.config_file)
    config["run"] = {"model": request.model, "data": request.data, "preset": request.preset,
                     "seed": request.seed, "data_root": request.data_root, "devices": request.devices,
                     "num_nodes": request.num_nodes, "logger": request.logger, "compile": request.compile}
    if "num_workers" not in config["data"] and "num_workers" in parameters(data_cls):
        workers = default_num_workers()  # GPU nodes only: in the saved config, so a repeat uses the same
        if workers:
            config["data"]["num_workers"] = workers
    return config


def build(config: dict[str, Any]) -> tuple[PairedDataModule, TranslationModel]:
    """The datamodule (set up, so bad data fails here) and the model sized for it, with its evaluator."""
    run = config["run"]
    datamodule = DATASETS[run["data"]](root=run["data_root"], seed=run["seed"], **config["data"])
    datamodule.setup()
    model_cls = MODELS[run["model"]]
    sizing = {"in_channels": datamodule.channels, "out_channels": datamodule.channels,
              "image_size": datamodule.image_size}
    if "scale" in parameters(model_cls):  # models that up-sample themselves take the task's factor
        sizing["scale"] = datamodule.scale
    model = model_cls(**sizing, **config["model"])
    if config["trainer"].get("max_nonfinite_steps") is not None:  # non-finite losses a run survives
        model.max_nonfinite_steps = int(config["trainer"]["max_nonfinite_steps"])
    model.evaluator = evaluator_for(datamodule)  # declared extras plus the dataset's paper's (MRI: PIQE)
    return datamodule, model


def stage_datamodule(config: dict[str, Any], stage: TrainingStage,
                     datamodule: PairedDataModule) -> PairedDataModule:
    """The datamodule a training stage fits on: the run's own (with the stage's data options) or another
    registered dataset, configured by the same preset's sections for that dataset (command-line `data.*`
    overrides belong to the run's dataset and are not applied to another one)."""
    run = config["run"]
    options = {k: v for k, v in stage.data.items() if v is not None}
    if stage.dataset is None:
        if not options:
            return datamodule
        data_cls, root, data = DATASETS[run["data"]], run["data_root"], merge(config["data"], options)
    else:
        data_cls = resolve(stage.dataset, DATASETS, f"training stage {stage.name!r}: dataset")
        preset = build_config(run["model"], stage.dataset, run["preset"], MODELS[run["model"]], data_cls)
        root, data = stage.root, merge(preset["data"], options)
    stage_data = data_cls(root=root, seed=run["seed"], **data)
    stage_data.setup()
    if stage_data.channels != datamodule.channels:
        raise UsageError(f"training stage {stage.name!r}: {stage_data.name} has {stage_data.channels} "
                         f"channels, {datamodule.name} {datamodule.channels}")
    return stage_data


def fit_stages(config: dict[str, Any], model: TranslationModel, datamodule: PairedDataModule, out: Path,
               callbacks: list[L.Callback] | None, resume: bool = False,
               writer: bool = True) -> tuple[L.Trainer, str | None, list[dict[str, Any]]]:
    """Fit a staged model's stages in turn (`models.stages`), each from the previous stage's best weights.

    Earlier stages keep their checkpoints and logs under `stages/<name>/`; the last stage uses the run
    folder itself, so its best checkpoint is the run's. `callbacks` (a sweep's pruner) join the last stage
    only: it is the one scored on the run's validation set. Returns the last trainer, its best checkpoint and
    the stage rows. Resuming, a stage that finished (`stages/<name>/stage.json`) is not fitted again, and
    the one that was interrupted continues from its own last checkpoint.
    """
    assert isinstance(model, StagedModel)
    stages = model.training_stages()
    trainer, checkpoint, rows = None, None, []
    for index, stage in enumerate(stages):
        last = index == len(stages) - 1
        folder = out if last else out / "stages" / stage.name
        if checkpoint:  # start from the previous stage's best-validation weights
            state = torch.load(checkpoint, map_location=model.device, weights_only=True)["state_dict"]
            model.load_state_dict(state)
        model.begin_stage(stage)
        done = stage_done(folder) if resume and not last else None
        if done is not None:
            checkpoint, row = done
            rows.append(row)
            continue
        stage_data = stage_datamodule(config, stage, datamodule)
        settings = {k: v for k, v in stage.trainer.items() if v is not None}
        stage_config = {**config, "trainer": merge(config["trainer"], settings)}
        extra = list(callbacks or []) if last else []
        if stage.early_stopping_patience:
            extra.append(EarlyStopping(monitor="val/psnr", mode="max",
                                       patience=stage.early_stopping_patience))
        start = checkpoints.latest(folder) if resume else None
        if start is not None and not last and writer:  # the run's own folder: `claim` did it
            keep_log_history(folder, start.batches)
        trainer = make_trainer(stage_config, folder, model, extra)
        trainer.fit(model, datamodule=stage_data, ckpt_path=start.path if start else None, weights_only=True)
        checkpoint = trainer.checkpoint_callback.best_model_path or None
        best = trainer.checkpoint_callback.best_model_score
        row = {"name": stage.name, "epochs": trainer.current_epoch,
               "best_val_psnr": float(best) if best is not None else None,
               "data_source": f"{stage_data.name}:{stage_data.root or 'synthetic'}",
               **({"resumed_from_step": start.step} if start else {})}
        rows.append(row)
        if not last and writer and trainer.global_rank == 0:
            merge_log_history(folder)
            mark_stage_done(folder, checkpoint, row)
    assert trainer is not None, "a staged model declares at least one stage"
    return trainer, checkpoint, rows


def parameter_counts(model: TranslationModel) -> dict[str, int]:
    return {name: sum(p.numel() for p in net.parameters()) for name, net in model.networks().items()}


@torch.no_grad()
def inference_rate(model: TranslationModel, datamodule: PairedDataModule, seconds: float = 1.0,
                   min_passes: int = 3) -> dict[str, Any]:
    """Images per second of the trained model on a test batch: at least `min_passes` timed passes and
    `seconds` of timing, after one warm-up pass (enough for a stable median-free rate; the perf harness
    does the careful, repeated measurement)."""
    batch = next(iter(datamodule.test_dataloader()))
    device = model.device
    batch = {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}
    model.eval()
    model.predict_batch(batch)
    count, passes, start = 0, 0, time.perf_counter()
    while time.perf_counter() - start < seconds or passes < min_passes:
        model.predict_batch(batch)
        if device.type == "cuda":
            torch.cuda.synchronize()
        count, passes = count + len(batch["id"]), passes + 1
    return {"inference_images_per_s": count / (time.perf_counter() - start), "inference_batch": len(batch["id"])}


def _shared_run_id(config: dict[str, Any], resume: bool = False) -> str:
    """One id for all processes of a distributed run: rank 0 draws it (an unfinished folder's when resuming,
    `benchmark.resume`), launched ranks inherit it by env."""
    return shared_run_id(config, resume, writer=is_rank_zero(is_distributed(config["run"])))


def share_run_ids(configs: list[dict[str, Any]], resume: bool = False) -> None:
    """Draw every run's id before the first `trainer.fit`: Lightning's launcher starts ranks 1.. then, with a
    copy of this environment, and they run the same list of configurations (a matrix) after it.

    Under torchrun or SLURM every rank is started by the launcher and draws ids of its own; only rank 0
    writes, so those ids name nothing (checkpoint paths are broadcast from rank 0 by Lightning).
    """
    for config in configs:
        _shared_run_id(config, resume)


def execute(config: dict[str, Any], callbacks: list[L.Callback] | None = None,
            extra: dict[str, Any] | None = None, resume: bool = False) -> dict[str, Any]:
    """Run one configuration end to end and return its record (also written to disk by rank 0).

    `callbacks` join the trainer's (a sweep's pruning callback); `extra` fields join the record (a sweep
    marks its trials there). `resume`: continue the newest unfinished run folder of this exact configuration
    from its last checkpoint, if there is one (`benchmark.resume`); the command line's default.
    """
    run = config["run"]
    wall_start = time.perf_counter()
    memory = PeakMemory()  # this run's peak, not the process's (a matrix shares one process)
    L.seed_everything(run["seed"], workers=True, verbose=False)
    datamodule, model = build(config)  # bad data raises here, before anything is written
    staged = isinstance(model, StagedModel) and model.trainable
    for stage in model.training_stages() if staged else []:  # unknown stage datasets fail before writing too
        if stage.dataset is not None:
            resolve(stage.dataset, DATASETS, f"training stage {stage.name!r}: dataset")
    writer = is_rank_zero(is_distributed(run))  # launched ranks write nothing, before or after training
    held = claim(config, resume, writer)  # rank 0 checks the folder is writable, then locks it for the run
    out = held.folder
    record: dict[str, Any] = {"status": "running", "dataset": run["data"], "model": run["model"],
                              "preset": run["preset"], "seed": run["seed"], "run_id": out.name,
                              "data_source": datamodule.root or "synthetic", **held.record_fields(),
                              **(extra or {})}
    if writer:
        records.write_yaml(out / "config.yaml", config)
        records.write_json(out / "environment.json", records.environment())
    trainer = make_trainer(config, out, model, callbacks)
    try:
        start = time.perf_counter()
        checkpoint = None
        if staged:
            trainer, checkpoint, record["stages"] = fit_stages(config, model, datamodule, out, callbacks,
                                                               held.resumed, writer)
        elif model.trainable:
            trainer.fit(model, datamodule=datamodule, ckpt_path=held.ckpt_path, weights_only=True)
            checkpoint = trainer.checkpoint_callback.best_model_path or None
        if model.trainable:
            best = trainer.checkpoint_callback.best_model_score
            record["validation"] = {"psnr": float(best) if best is not None else None}
        train_seconds = time.perf_counter() - start
        trainer.test(model, datamodule=datamodule, ckpt_path=checkpoint, verbose=False, weights_only=True)
        if trainer.global_rank != 0:
            return record
        summary = summarise(model.test_rows, model.evaluator.metrics, datamodule.volumetric)
        records.write_csv(out / "per_image.csv", model.test_rows)
        save_sample_figure(out / "sample.png", model.test_samples)
        save_samples(out / SAMPLES_FILE, model.test_sample_ids, model.test_samples)
        record.update(status="complete", **summary, better=model.evaluator.better(),
                      efficiency={"parameters": parameter_counts(model), "train_seconds": train_seconds,
                                  "epochs": trainer.current_epoch if model.trainable else 0,
                                  "global_steps": trainer.global_step,
                                  **inference_rate(model, datamodule), **memory.stop(),
                                  "gflops_per_256": gflops_per_image(model, datamodule.channels, datamodule.scale),
                                  "wall_seconds": time.perf_counter() - wall_start,
                                  "device": records.environment()["device"]},
                      notes=model.record_notes(), checkpoint=Path(checkpoint).name if checkpoint else None)
        log_test_results(trainer, model, record)
    except (Exception, KeyboardInterrupt, SystemExit) as exc:  # recorded, never lost: a matrix goes on
        reason = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}".rstrip(": ")
        # Ctrl-C (Lightning turns it into exit 1 inside fit) or SIGTERM (SIGTERMException): resumable.
        interrupted = isinstance(exc, (KeyboardInterrupt, SystemExit))
        if interrupted:
            signal = "SIGTERM" if isinstance(exc, SIGTERMException) else "Ctrl-C"
            reason = f"{signal}; rerun the same command to resume"  # shown after the status `interrupted`
        record.update(status="interrupted" if interrupted else "failed", reason=reason)
        if trainer.global_rank == 0 and writer:
            records.atomic_write_text(out / "error.log", "".join(traceback.format_exception(exc)))
        else:  # a launched rank's folder may not be rank 0's: its traceback goes to its stderr
            print(f"rank {trainer.global_rank}: " + "".join(traceback.format_exception(exc)), file=sys.stderr)
        if interrupted:
            if trainer.global_rank == 0 and writer:
                merge_log_history(out)
                records.write_json(out / "metrics.json", record)
            held.release()
            raise
    finally:
        memory.stop()
        finish_loggers(trainer)
    if trainer.global_rank == 0 and writer:
        merge_log_history(out)
        records.write_json(out / "metrics.json", record)
        print(one_line_summary(record, out), file=sys.stderr if record["status"] != "complete" else sys.stdout)
    held.release()  # only now: until metrics.json exists, another process could take the folder up
    return record


def finish_loggers(trainer: L.Trainer) -> None:
    """Close a wandb run on every exit path, so runs of a matrix never merge."""
    if any(type(lg).__name__ == "WandbLogger" for lg in trainer.loggers):
        import wandb

        wandb.finish()


def one_line_summary(record: dict[str, Any], out: Path) -> str:
    head = f"{record['model']} on {record['dataset']} ({record['preset']}, seed {record['seed']})"
    if record["status"] != "complete":
        return f"FAILED {head}: {record.get('reason')} [{out}]"
    test, floor = record["test"], record["input"]
    seconds = record["efficiency"]["train_seconds"]
    return (f"{head}: PSNR {test['psnr']:.2f} dB (input {floor['psnr']:.2f}), SSIM {test['ssim']:.4f} "
            f"(input {floor['ssim']:.4f}), trained {seconds:.0f} s [{out}]")
