"""Train, test and record one configuration: the benchmark's single code path.

`execute` runs four steps, each a function: fit (or fit the stages of a staged model), score (the test set,
by the dataset's evaluator), measure (parameters, speed, memory) and write (the record). Input problems
(unknown names, bad options, bad data) are raised by `prepare` / `build` before anything is written. Once
the run folder exists, any failure is recorded by one wrapper (`_failure`): `status: failed` with its
reason, or `status: interrupted` for Ctrl-C and SIGTERM. An unfinished run resumes when the same
configuration is run again, and a complete one is not trained again (`benchmark.resume`).
"""
from __future__ import annotations

import datetime
import json
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.utilities.exceptions import SIGTERMException

from benchmark import records
from benchmark.errors import StorageError
from benchmark.exact_resume import train_seconds
from benchmark.figures import save_sample_figure
from benchmark.flops import gflops_per_image
from benchmark.memory import PeakMemory
from benchmark.report.samples import FILE as SAMPLES_FILE
from benchmark.report.samples import save_samples
from benchmark.resume import Claim, claim, merge_log_history
from benchmark.run_config import RunConfig, RunRequest, build, derived, prepare
from benchmark.staged_fit import check_stages, fit_stages, is_staged
from benchmark.test_results import TestResults
from benchmark.trainer import is_distributed, is_rank_zero, make_trainer
from benchmark.wandb_logging import log_test_results
from datamodules.base import PairedDataModule
from models.base import TranslationModel

__all__ = ["RunRequest", "execute", "prepare"]


@dataclass
class Fitted:
    trainer: L.Trainer
    checkpoint: str | None  # the best-validation weights the test uses (None: the model as it is)
    train_seconds: float
    stages: list[dict[str, Any]] | None = None


def fit(config: RunConfig, model: TranslationModel, datamodule: PairedDataModule, held: Claim,
        callbacks: list[L.Callback], writer: bool) -> Fitted:
    start = time.perf_counter()
    if is_staged(model):
        trainer, checkpoint, stages = fit_stages(config, model, datamodule, held.folder, callbacks,
                                                 held.resumed, writer)
        return Fitted(trainer, checkpoint, sum(float(s.get("train_seconds") or 0.0) for s in stages), stages)
    trainer = make_trainer(config, held.folder, model, callbacks)
    checkpoint = None
    if model.trainable:
        trainer.fit(model, datamodule=datamodule, ckpt_path=held.ckpt_path, weights_only=True)
        checkpoint = trainer.checkpoint_callback.best_model_path or None
    # Time in the training loop, a resumed fit's before the interruption included (`benchmark.exact_resume`).
    return Fitted(trainer, checkpoint, train_seconds(trainer, fallback=time.perf_counter() - start))


def score(fitted: Fitted, model: TranslationModel, datamodule: PairedDataModule,
          results: TestResults) -> dict[str, Any]:
    """Test the best checkpoint; the test set's summary (means, per tag, per volume and volume protocols)."""
    fitted.trainer.test(model, datamodule=datamodule, ckpt_path=fitted.checkpoint, verbose=False,
                        weights_only=True)
    return model.evaluator.summary(results.rows)


def parameter_counts(model: TranslationModel) -> dict[str, int]:
    return {name: sum(p.numel() for p in net.parameters()) for name, net in model.networks().items()}


@torch.no_grad()
def inference_rate(model: TranslationModel, datamodule: PairedDataModule, seconds: float = 1.0,
                   min_passes: int = 3) -> dict[str, Any]:
    """Images per second of the trained model on a test batch: at least `min_passes` timed passes and
    `seconds` of timing, after one warm-up pass (the perf harness does the careful, repeated measurement)."""
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


def measure(fitted: Fitted, model: TranslationModel, datamodule: PairedDataModule,
            memory: PeakMemory, wall_start: float) -> dict[str, Any]:
    trainer = fitted.trainer
    return {"parameters": parameter_counts(model), "train_seconds": fitted.train_seconds,
            "epochs": trainer.current_epoch if model.trainable else 0, "global_steps": trainer.global_step,
            **inference_rate(model, datamodule), **memory.stop(),
            "gflops_per_256": gflops_per_image(model, datamodule.channels, datamodule.scale),
            "wall_seconds": time.perf_counter() - wall_start, "device": records.environment()["device"]}


def write_outputs(out: Path, results: TestResults, model: TranslationModel) -> None:
    records.write_csv(out / "per_image.csv", results.rows)
    if model.evaluator.volume_rows:
        records.write_csv(out / "per_volume.csv", model.evaluator.volume_rows)
    save_sample_figure(out / "sample.png", results.samples)
    save_samples(out / SAMPLES_FILE, results.sample_ids, results.samples)


def _failure(exc: BaseException, record: dict[str, Any], out: Path, rank: int, writer: bool) -> bool:
    """Record a failure (the one place that classifies them); True when it was an interruption (Ctrl-C,
    which Lightning turns into an exit inside fit, or SIGTERM, or a write the file system refused), which
    the caller re-raises."""
    interrupted = isinstance(exc, (KeyboardInterrupt, SystemExit, StorageError))
    if isinstance(exc, StorageError):  # a full disk or read-only folder: stop, resumable, in plain words
        reason = str(exc)
    elif interrupted:
        signal = "SIGTERM" if isinstance(exc, SIGTERMException) else "Ctrl-C"
        reason = f"{signal}; rerun the same command to resume"
    else:
        reason = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}".rstrip(": ")
    record.update(status="interrupted" if interrupted else "failed", reason=reason)
    if rank == 0 and writer:
        records.atomic_write_text(out / "error.log", "".join(traceback.format_exception(exc)))
    else:  # a launched rank's folder may not be rank 0's: its traceback goes to its stderr
        print(f"rank {rank}: " + "".join(traceback.format_exception(exc)), file=sys.stderr)
    return interrupted


def execute(config: RunConfig, callbacks: list[L.Callback] | None = None,
            extra: dict[str, Any] | None = None, resume: bool = False) -> dict[str, Any]:
    """Run one configuration end to end and return its record (also written to disk by rank 0).

    `callbacks` join the trainer's (a sweep's pruning callback); `extra` fields join the record (a sweep
    marks its trials there). `resume`: continue this configuration's unfinished run folder from its last
    checkpoint, or return its complete record untouched (`benchmark.resume`); the command line's default.
    """
    wall_start = time.perf_counter()
    memory = PeakMemory()  # this run's peak, not the process's (a matrix shares one process)
    L.seed_everything(config.seed, workers=True, verbose=False)
    datamodule, model = build(config)  # bad data raises here, before anything is written
    check_stages(model)
    writer = is_rank_zero(is_distributed(config))  # launched ranks write nothing, before or after training
    held = claim(config, resume, writer)  # rank 0 checks the folder is writable, then locks it for the run
    out = held.folder
    if held.done:
        memory.stop()
        record = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
        if writer:
            print(f"already complete, not trained again (--fresh to repeat): {one_line_summary(record, out)}")
        return record
    record: dict[str, Any] = {
        "status": "running", "dataset": config.data, "model": config.model, "preset": config.preset,
        "seed": config.seed, "run_id": out.name, "digest": config.digest, "trainable": model.trainable,
        "started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "data_source": datamodule.root or "synthetic", "unit": datamodule.unit_of_analysis,
        "masked_metrics": datamodule.masked_metrics, **held.record_fields(), **(extra or {})}
    if writer:
        records.write_yaml(out / "config.yaml", config.saved(derived(config, datamodule)))
        records.write_json(out / "environment.json", records.environment())
    results = TestResults()
    trainer = None
    try:
        fitted = fit(config, model, datamodule, held, [*(callbacks or []), results], writer)
        trainer = fitted.trainer
        if model.trainable:
            best = trainer.checkpoint_callback.best_model_score
            record["validation"] = {"psnr": float(best) if best is not None else None}
        if fitted.stages is not None:
            record["stages"] = fitted.stages
        summary = score(fitted, model, datamodule, results)
        if trainer.global_rank != 0:
            return record
        write_outputs(out, results, model)
        record.update(status="complete", **summary, better=model.evaluator.better(),
                      efficiency=measure(fitted, model, datamodule, memory, wall_start),
                      notes={**model.record_notes(), **({"preset": config.notes} if config.notes else {})},
                      checkpoint=Path(fitted.checkpoint).name if fitted.checkpoint else None)
        log_test_results(trainer, results, record)
    except (Exception, KeyboardInterrupt, SystemExit) as exc:  # recorded, never lost: a matrix goes on
        rank = trainer.global_rank if trainer is not None else 0
        if _failure(exc, record, out, rank, writer):
            if rank == 0 and writer:
                merge_log_history(out)
                records.write_json(out / "metrics.json", record)
            held.release()
            raise
    finally:
        memory.stop()
        finish_loggers(trainer)
    if writer and (trainer is None or trainer.global_rank == 0):
        merge_log_history(out)
        records.write_json(out / "metrics.json", record)
        print(one_line_summary(record, out), file=sys.stderr if record["status"] != "complete" else sys.stdout)
    held.release()  # only now: until metrics.json exists, another process could take the folder up
    return record


def finish_loggers(trainer: L.Trainer | None) -> None:
    """Close a wandb run on every exit path, so runs of a matrix never merge."""
    if trainer is not None and any(type(lg).__name__ == "WandbLogger" for lg in trainer.loggers):
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
