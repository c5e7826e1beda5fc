"""Where a matrix of runs executes: `inline` (this process, one run after another: the default), `local`
(`--jobs N` processes at once on this machine) or `slurm` (one job array, `--slurm "..."`), through one
entry point, `benchmark.executors.matrix.run_matrix`. Every job is one `python -m benchmark run` of one
configuration (`benchmark.executors.run_one`), resumable, so a requeued or rerun job continues from its
checkpoint; the leaderboard is regenerated when the matrix has ended.
"""

EXECUTORS = ("inline", "local", "slurm")
