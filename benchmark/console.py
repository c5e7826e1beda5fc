"""What a run prints: one line per epoch (a progress bar on a terminal) and its result, not library chatter.

Why: a newcomer reads every line of the first run; Lightning's informational lines (accelerator summary,
logger tips, "fit stopped", checkpoint restore notices) and known third-party deprecation notices between the
epochs hide the lines that matter, and a real warning drowns among them. Only messages named here are
silenced, each matched by its text, so any other warning still shows. `I2I_VERBOSE=1` keeps everything.
"""
from __future__ import annotations

import logging
import os
import warnings

# (message regex, category): known notices that say nothing about this run.
SILENCED_WARNINGS: tuple[tuple[str, type[Warning]], ...] = (
    # torch >= 2.9 deprecates LeafSpec; Lightning's own _pytree helper still builds one on every batch.
    (r"`isinstance\(treespec, LeafSpec\)` is deprecated", FutureWarning),
    # A login node with SLURM installed: the run is not meant for srun (the SLURM executor launches with it).
    (r"The `srun` command is available on your system but is not used", Warning),
)
# Loggers whose INFO lines are Lightning's own status messages (warnings go through `warnings`, not these).
INFO_LOGGERS = ("lightning.pytorch", "lightning.fabric", "lightning_fabric", "pytorch_lightning")


def verbose() -> bool:
    return os.environ.get("I2I_VERBOSE", "").strip().lower() in ("1", "true", "yes")


def quiet_libraries() -> None:
    """Silence the notices above and Lightning's INFO lines for this process (idempotent)."""
    if verbose():
        return
    for message, category in SILENCED_WARNINGS:
        warnings.filterwarnings("ignore", message=message, category=category)
    for name in INFO_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
