"""What a wandb run receives at test end, beyond the losses and validation metrics Lightning logs itself.

Why a hook: Lightning's WandbLogger streams `self.log` values and the configuration (given at construction),
but the per-image table and the sample images exist only after testing, in the model. The runner calls
`log_test_results` on rank 0; without a WandbLogger it does nothing, so csv-only runs never import wandb.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import lightning as L

from benchmark.test_results import TestResults


def wandb_logger(trainer: L.Trainer) -> Any | None:
    return next((lg for lg in trainer.loggers if type(lg).__name__ == "WandbLogger"), None)


def log_test_results(trainer: L.Trainer, results: TestResults, record: dict[str, Any]) -> None:
    """Log the per-image table, the test samples (source | prediction | target), the test summary, and attach
    the run's config.yaml and per_image.csv (Lightning already sent the configuration as the run's config)."""
    logger = wandb_logger(trainer)
    if logger is None or trainer.global_rank != 0:
        return
    try:
        _log(logger.experiment, results, record)
        _attach_files(logger.experiment, Path(trainer.default_root_dir))
    except Exception as exc:  # noqa: BLE001 -- the record on disk is the result: wandb never fails a run
        print(f"warning: wandb: test results not logged ({type(exc).__name__}: {exc})", file=sys.stderr)


def _attach_files(run: Any, out: Path) -> None:
    """The effective configuration and the per-image CSV as run files `<run_id>/...` (readable in an offline
    folder; the prefix keeps them apart from wandb's own files/config.yaml)."""
    for name in ("config.yaml", "per_image.csv"):
        if (out / name).is_file():
            run.save(str(out / name), base_path=str(out.parent), policy="now")


def _log(run: Any, results: TestResults, record: dict[str, Any]) -> None:
    import wandb

    from benchmark.figures import to_uint8

    rows = list(results.rows)
    if rows:
        columns = list(dict.fromkeys(key for row in rows for key in row))
        table = wandb.Table(columns=columns, data=[[row.get(c) for c in columns] for row in rows])
        run.log({"test/per_image": table})
    images = []
    for image_id, triple in zip(results.sample_ids, results.samples):
        for name, tensor in zip(("source", "prediction", "target"), triple):
            images.append(wandb.Image(to_uint8(tensor), caption=f"{image_id} {name}"))
    if images:
        run.log({"test/samples": images})
    for section in ("test", "input", "target"):
        for metric, value in (record.get(section) or {}).items():
            run.summary[f"{section}/{metric}"] = value
    run.summary["status"] = record.get("status")
