"""Optuna studies over a model's hyperparameters, each trial a real benchmark run (`python -m sweeps`).

One concept per file:
    space.py      search spaces (YAML under spaces/), pinning by --set, the paper's grid
    settings.py   what defines a study, stored in the study so every worker runs the same one
    storage.py    SQLite / journal file / PostgreSQL-MySQL storages, password masking
    callbacks.py  Lightning callbacks of a trial: pruning, validation history, divergence guard
    objective.py  one trial: configuration -> `benchmark.runner.execute` -> one validated value
    heartbeat.py  dead-worker detection for storages Optuna gives no heartbeat (journal files)
    loop.py       one worker's loop: exactly N complete+pruned trials across all workers
    workers.py    K local worker processes (one per GPU slice) and DDP ranks joining a trial
    outputs.py    trials.csv, best.yaml, summary.md/json; plots.py the figures
    report.py     summaries for the leaderboard; the grid's Table-1 style table
    cli.py        run / show / best
"""
