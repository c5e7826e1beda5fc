# i2i-bench: every target installs what it needs first (`make install` runs only when missing or out of date).
# `make help` lists targets and variables.

PYTHON     ?= python3
VENV       ?= .venv
# torch==2.13.0 resolves to a local CPU build on these machines; a GPU node asks for its CUDA build, e.g.
# TORCH_SPEC="torch==2.13.0 --index-url https://download.pytorch.org/whl/cu128"
TORCH_SPEC ?= torch==2.13.0
MODEL      ?= lohiresgan
DATA       ?= mri
PRESET     ?= quick
SEEDS      ?= 1
DATA_ROOT  ?=
DEVICES    ?= auto
NUM_NODES  ?= 1
LOGGER     ?= csv
SET        ?=
CONFIG     ?=
TRIALS     ?= 20
STORAGE    ?=
STUDY      ?=
WORKERS    ?= 1
FRESH      ?=
PYTEST_ARGS ?=
COMPILE    ?=
PERF_ARGS  ?=
EXECUTOR   ?= inline
JOBS       ?= 1
SLURM      ?=
WAIT       ?=

SHELL  := /bin/bash
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
SLOW_STAMP := $(VENV)/.installed-slow

.DEFAULT_GOAL := help
.PHONY: help install benchmark status sweep leaderboard reference test test-slow test-all perf perf-executors perf-resume clean-venv

help: ## List targets and variables
	@echo "Targets:"
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'
	@echo "Variables (current value):"
	@echo "  MODEL=$(MODEL)  model name, comma list or all (python -m benchmark list models)"
	@echo "  DATA=$(DATA)  dataset name, comma list or all"
	@echo "  PRESET=$(PRESET)  smoke | quick | paper"
	@echo "  SEEDS=$(SEEDS)  number of seeds (0..n-1)"
	@echo "  DATA_ROOT=$(DATA_ROOT)  real data folder (empty: synthetic data)"
	@echo "  DEVICES=$(DEVICES) NUM_NODES=$(NUM_NODES)  devices per node and nodes (DDP when > 1)"
	@echo "  LOGGER=$(LOGGER)  csv | wandb"
	@echo "  SET=\"$(SET)\"  overrides, e.g. SET=\"model.lr=1e-4 data.crop_size=64\""
	@echo "  CONFIG=$(CONFIG)  YAML with model/data/trainer sections"
	@echo "  FRESH=$(FRESH)  1: start over (by default an unfinished run of the same configuration resumes)"
	@echo "  TRIALS=$(TRIALS) WORKERS=$(WORKERS)  sweep: complete+pruned trials in total; worker processes (EXECUTOR=slurm: array tasks)"
	@echo "  STORAGE=$(if $(STORAGE),(set),)  sweep storage: empty (SQLite in results/sweeps/), journal:///shared/f.log, postgresql://..."
	@echo "  STUDY=$(STUDY)  sweep study name (default <model>-<data>-<preset>)"
	@echo "  COMPILE=$(COMPILE)  1: torch.compile each network (GPU nodes)"
	@echo "  EXECUTOR=$(EXECUTOR)  inline (one run after another here) | local (JOBS at once here) | slurm (job array)"
	@echo "  JOBS=$(JOBS)  local: runs at once (cores and GPUs divided between them)"
	@echo "  SLURM=\"$(SLURM)\"  slurm: submitit parameters, e.g. SLURM=\"partition=gpu gpus_per_node=1 timeout_min=240 array_parallelism=16\""
	@echo "  WAIT=$(WAIT)  1: slurm: wait for the jobs to end"
	@echo "  PERF_ARGS=\"$(PERF_ARGS)\"  perf options, e.g. PERF_ARGS=\"--models unet,cgan --threads 1\""
	@echo "  TORCH_SPEC=$(TORCH_SPEC)  pip requirement for torch"
	@echo "  RESULTS_DIR  environment variable moving results/ elsewhere"

# A site pip.conf naming file:// indexes makes pip (a fresh venv's bundled one above all) print
# "WARNING: Location '...' is ignored" for every package such an index lacks: notes about the machine, not
# this install, so only those lines are dropped; every other pip line and pip's exit status come through.
# setuptools' "Editable installation." notice (a warning class of its own) is silenced by its text.
PIP_NOTES := 2>&1 | { grep -v "^WARNING: Location '.*' is ignored" || true; }
PIP_INSTALL = set -o pipefail; PYTHONWARNINGS="ignore:Editable installation" \
	$(PY) -m pip install -q --disable-pip-version-check

$(STAMP): pyproject.toml Makefile
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "installing into $(VENV): pip, $(TORCH_SPEC), i2i-bench[dev]"
	@$(PIP_INSTALL) --upgrade pip $(PIP_NOTES)
	@$(PIP_INSTALL) $(TORCH_SPEC) $(PIP_NOTES)
	@$(PIP_INSTALL) -e ".[dev]" $(PIP_NOTES)
	@$(PY) -c "from importlib.metadata import version as v; print('installed: i2i-bench', v('i2i-bench'), \
		'| torch', v('torch'), '| lightning', v('lightning'), '| python', __import__('sys').version.split()[0])"
	@touch $(STAMP)

install: $(STAMP) ## Create .venv and install the project (only when missing or out of date)

# The options naming a matrix's runs: `benchmark` runs them, `status` reports on them.
MATRIX_ARGS = --model $(MODEL) --data $(DATA) --preset $(PRESET) --seeds $(SEEDS) \
	--devices $(DEVICES) --num-nodes $(NUM_NODES) --logger $(LOGGER) \
	$(if $(DATA_ROOT),--data-root "$(DATA_ROOT)") $(if $(CONFIG),--config "$(CONFIG)") \
	$(if $(strip $(SET)),--set "$(SET)") $(if $(filter 1 yes true,$(COMPILE)),--compile)

benchmark: $(STAMP) ## Train, test, record MODEL on DATA and refresh the leaderboard (resumes; FRESH=1; EXECUTOR, JOBS, SLURM)
	$(PY) -m benchmark run $(MATRIX_ARGS) $(if $(filter 1 yes true,$(FRESH)),--fresh) \
		--executor $(EXECUTOR) --jobs $(JOBS) $(if $(strip $(SLURM)),--slurm "$(SLURM)") \
		$(if $(filter 1 yes true,$(WAIT)),--wait)

status: $(STAMP) ## Which runs of MODEL x DATA x SEEDS are complete, running, queued or failed
	$(PY) -m benchmark status $(MATRIX_ARGS)

leaderboard: $(STAMP) ## Regenerate results/LEADERBOARD.md, .html, .csv, .tex from run records (git-ignored)
	$(PY) -m benchmark leaderboard

reference: $(STAMP) ## Keep the runs the leaderboard shows as the committed reference, results/reference/
	$(PY) -m benchmark leaderboard --out results/reference --keep-records

test: $(STAMP) ## Fast test tier (CI)
	$(PY) -m pytest -q $(PYTEST_ARGS)

$(SLOW_STAMP): $(STAMP)
	@$(PIP_INSTALL) -e ".[dev,slow]" $(PIP_NOTES)
	@touch $(SLOW_STAMP)

test-slow: $(SLOW_STAMP) ## Slow tier only (DDP, sweeps, PostgreSQL, SLURM, Chromium; as root it installs them)
	$(PY) -m pytest -q -m slow -rs $(PYTEST_ARGS)

test-all: $(SLOW_STAMP) ## Fast and slow tiers (DDP, sweeps, real servers)
	$(PY) -m pytest -q -m "" $(PYTEST_ARGS)

perf: $(STAMP) ## Time train/inference (Lightning vs raw), MFU, loaders, TG loss: results/perf/<device>.json
	$(PY) -m benchmark perf $(PERF_ARGS)

perf-executors: $(STAMP) ## Wall time of a 4-run smoke matrix inline vs EXECUTOR=local JOBS (idle machine)
	$(PY) -m benchmark.perf.executors --jobs $(if $(filter 1,$(JOBS)),2,$(JOBS)) --out results/perf/executors.json

perf-resume: $(STAMP) ## Training seconds of a run killed at four phases and rerun vs uninterrupted (idle machine)
	$(PY) -m benchmark.perf.resume_time --out results/perf/resume_time.json

clean-venv: ## Remove the virtual environment
	rm -rf $(VENV)

# The recipe is not echoed: STORAGE may hold a password; the sweep prints its own masked header.
sweep: $(STAMP) ## Optuna study over MODEL's search space on DATA (TRIALS, WORKERS, STORAGE, STUDY, PRESET, SET)
	@$(if $(STORAGE),SWEEPS_STORAGE="$(STORAGE)") $(PY) -m sweeps run --model $(MODEL) --data $(DATA) --preset $(PRESET) \
		$(if $(TRIALS),--trials $(TRIALS)) --workers $(WORKERS) $(if $(STUDY),--study "$(STUDY)") \
		$(if $(DATA_ROOT),--data-root "$(DATA_ROOT)") $(if $(strip $(SET)),--set "$(SET)") \
		--executor $(EXECUTOR) $(if $(strip $(SLURM)),--slurm "$(SLURM)") $(if $(filter 1 yes true,$(WAIT)),--wait)
