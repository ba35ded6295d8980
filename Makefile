# Two commands run the project: `make train` (set up, train the recipe on real data, evaluate it)
# and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The real MS MARCO subsets (no internet needed); the recipe's training table is built from them.
MSMARCO_DIR ?= ../shared/data/msmarco
# An out-of-domain check in the BEIR format (SciFact's train claims), evaluated when present.
BEIR_DIR ?= ../shared/data/beir_scifact
# Training data: the recipe table (default), a local MS MARCO file, or a Hub id (microsoft/ms_marco).
TRAIN_FILE ?= data/train_recipe.parquet
OUTPUT_DIR ?= checkpoints/two_tower_final
TRAIN_ARGS ?=

.PHONY: setup train test lint demo plot
setup: $(VENV)/.installed

# torch==2.13.0 first: it is a CPU build on local disk here; an unpinned install may pull CUDA (GBs).
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

# The recipe's training table: train pairs + v2-text pairs + dev.small queries outside dev600,
# each with BM25 negatives mined from corpus.tsv.
data/train_recipe.parquet: | setup
	$(BIN)/python scripts/build_training_set.py --data_dir $(MSMARCO_DIR) --output $@

# TEACHER=minilm distils all-MiniLM-L6-v2's vectors of every text of the table instead of the
# recipe's precomputed scores: opt-in, because encoding them on a CPU takes far longer than training.
TEACHER ?=
TEACHER_FILE := data/train_recipe.teacher.parquet
ifneq ($(TEACHER),)
ifneq ($(TRAIN_FILE),data/train_recipe.parquet)
$(error TEACHER=$(TEACHER) needs the recipe table: leave TRAIN_FILE at data/train_recipe.parquet)
endif
TRAIN_ARGS += --teacher_file $(TEACHER_FILE) --teacher_scores none
endif

$(TEACHER_FILE): data/train_recipe.parquet | setup
	$(BIN)/python scripts/build_training_set.py --data_dir $(MSMARCO_DIR) \
		--output $< --reuse_table --teacher $(TEACHER)

# Training processes, one per CPU core (accelerate launch on the CPU, gloo); the recipe's global
# batch (modeling/training/recipe.py) is split across them, with every process's passages as
# negatives. NPROC=1 runs plain python.
NPROC ?= 2
BATCH ?= $(shell $(BIN)/python -c "from modeling.training.recipe import RECIPE; print(RECIPE.global_batch_size)" 2>/dev/null)
PORT ?= 29500
ifeq ($(NPROC),1)
LAUNCH := $(BIN)/python
else
LAUNCH := ACCELERATE_USE_CPU=1 $(BIN)/accelerate launch --multi_gpu --num_processes $(NPROC) \
	--main_process_port $(PORT)
endif

# One torch thread per process: more threads than cores slow every step down.
train: export OMP_NUM_THREADS ?= 1
# The recipe distils teacher scores that sit in the MS MARCO folder (train.py looks there).
train: export MSMARCO_DIR := $(abspath $(MSMARCO_DIR))
# Train the recipe, then print the evaluation table next to BM25 and the GloVe average (MS MARCO,
# and BEIR_DIR's tasks when that folder exists).
train: setup $(if $(filter data/train_recipe.parquet,$(TRAIN_FILE)),data/train_recipe.parquet) \
	$(if $(TEACHER),$(TEACHER_FILE))
	$(LAUNCH) scripts/train.py --train_file $(TRAIN_FILE) \
		--per_device_train_batch_size $$(($(BATCH) / $(NPROC))) --output_dir $(OUTPUT_DIR) \
		$(TRAIN_ARGS)
	@if [ -d "$(MSMARCO_DIR)" ]; then \
		$(BIN)/python scripts/evaluate.py --model $(OUTPUT_DIR) --data_dir $(MSMARCO_DIR) \
			$$([ -d "$(BEIR_DIR)" ] && echo --beir_dir $(BEIR_DIR)) \
			--baselines bm25,glove-avg --hybrid --output $(OUTPUT_DIR)/eval_results.json; \
	else echo "No $(MSMARCO_DIR): evaluation skipped (set MSMARCO_DIR to the MS MARCO subsets)."; fi

# A local page (http://127.0.0.1:7860): our top 10 next to BM25's over corpus.tsv, words shaded
# by the model's term weights. Needs a trained OUTPUT_DIR; the index is built once.
INDEX_DIR ?= indexes/corpus
$(INDEX_DIR)/index.json: | setup
	OMP_NUM_THREADS=1 $(BIN)/python scripts/search.py build --model $(OUTPUT_DIR) \
		--corpus $(MSMARCO_DIR)/corpus.tsv --index_dir $(INDEX_DIR)

demo: setup $(INDEX_DIR)/index.json
	OMP_NUM_THREADS=1 $(BIN)/python scripts/demo.py --index_dir $(INDEX_DIR)

# docs/speed_quality.png: OUTPUT_DIR, its BM25 fusion, BM25, the GloVe average, the model2vec
# peer (distilled once) and MiniLM (its passage vectors cached after a slow first run);
# speeds from throughput.py's interleaved rounds, steadier than evaluate.py's single timing.
MODEL2VEC_DIR ?= $(HOME)/.cache/two_tower_eval/model2vec-minilm
$(MODEL2VEC_DIR)/model.safetensors: | setup
	$(BIN)/python scripts/experiments/distill_model2vec.py --output_dir $(MODEL2VEC_DIR)

plot: export OMP_NUM_THREADS ?= 1
plot: setup $(MODEL2VEC_DIR)/model.safetensors
	MODEL2VEC_MINILM_DIR=$(MODEL2VEC_DIR) $(BIN)/python scripts/evaluate.py --model $(OUTPUT_DIR) \
		--data_dir $(MSMARCO_DIR) --baselines bm25,glove-avg,model2vec,minilm --hybrid \
		--output results/eval_all.json
	MODEL2VEC_MINILM_DIR=$(MODEL2VEC_DIR) $(BIN)/python scripts/experiments/throughput.py \
		--model $(OUTPUT_DIR) --data_dir $(MSMARCO_DIR) --baselines bm25,glove-avg,model2vec,minilm \
		--output results/throughput.json
	$(BIN)/python scripts/experiments/plot.py --eval results/eval_all.json results/throughput.json \
		--output docs/speed_quality.png

test: setup
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/lint-imports
