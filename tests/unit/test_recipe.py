"""The recipe has one home: train.py's flags, the Makefile and the benchmark all take it from
`modeling.training.recipe.RECIPE`, so none of them can drift from it."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
from pathlib import Path

from script_loader import load_script
from transformers import HfArgumentParser

from modeling.training.arguments import DataArguments, ModelArguments, TwoTowerTrainingArguments
from modeling.training.recipe import RECIPE

REPO = Path(__file__).resolve().parents[2]


def test_train_flags_default_to_the_recipe(tmp_path):
    parser = HfArgumentParser((DataArguments, ModelArguments, TwoTowerTrainingArguments))
    data, model, training = parser.parse_args_into_dataclasses(["--output_dir", str(tmp_path)])
    assert model.config_kwargs() == RECIPE.architecture()
    assert (data.num_negatives, model.drop_stopwords) == (
        RECIPE.num_negatives,
        RECIPE.drop_stopwords,
    )
    for name in ("loss", "temperature", "learning_rate", "num_train_epochs", "seed"):
        assert getattr(training, name) == getattr(RECIPE, name), name
    for name in ("distill_loss", "distill_weight"):
        assert getattr(training, name) == getattr(RECIPE, name), name
    assert (data.teacher_scores, data.num_teacher_passages) == (
        RECIPE.teacher_scores,
        RECIPE.num_teacher_passages,
    )
    assert training.per_device_train_batch_size == RECIPE.global_batch_size  # one process


def test_every_recipe_field_reaches_train_py(tmp_path):
    """A field added to the recipe but read by no flag would silently not apply."""
    parser = HfArgumentParser((DataArguments, ModelArguments, TwoTowerTrainingArguments))
    flags = {action.dest for action in parser._actions}
    for field in dataclasses.fields(RECIPE):
        if field.name == "global_batch_size":
            continue  # per process: split by the Makefile
        assert field.name in flags, field.name


def test_make_train_splits_the_recipe_batch_and_repeats_no_recipe_flag():
    venv = Path(sys.executable).parent.parent
    run = subprocess.run(
        ["make", "-n", "train", "NPROC=2", f"VENV={venv}"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    lines = run.stdout.replace("\\\n", " ").splitlines()
    (command,) = [line for line in lines if "scripts/train.py" in line]
    assert f"--per_device_train_batch_size $(({RECIPE.global_batch_size} / 2))" in command
    recipe_flags = {f"--{field.name}" for field in dataclasses.fields(RECIPE)}
    assert not recipe_flags & set(re.findall(r"--\w+", command))


def test_benchmark_measures_the_recipe_model():
    args = load_script("experiments/benchmark").parse_args([])
    assert args.batch_size == RECIPE.global_batch_size
    assert args.hidden_size == RECIPE.hidden_size
    assert (args.query_max_length, args.passage_max_length) == (
        RECIPE.query_max_length,
        RECIPE.passage_max_length,
    )
    assert (args.pooling, args.lexical_buckets) == (RECIPE.pooling, RECIPE.lexical_buckets)
    assert args.bidirectional == str(RECIPE.bidirectional).lower()
    assert args.keep_stopwords is (not RECIPE.drop_stopwords)
