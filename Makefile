# Two commands run the project: `make train` (set up + train on real data) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Where training data comes from: a Hub dataset id (default) or local MS MARCO files.
TRAIN_FILE ?= microsoft/ms_marco
OUTPUT_DIR ?= checkpoints/two_tower_final
TRAIN_ARGS ?=

.PHONY: setup train test lint
setup: $(VENV)/.installed

# torch==2.13.0 first: it is a CPU build on local disk here; an unpinned install may pull CUDA (GBs).
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

train: setup
	$(BIN)/python scripts/train.py --train_file $(TRAIN_FILE) --output_dir $(OUTPUT_DIR) $(TRAIN_ARGS)

test: setup
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check . && $(BIN)/ruff format --check .
