"""scripts/experiments/ablate.py: every row reruns with the settings it was measured with, whatever
train.py's defaults have become since (learning rate, passage length, epochs, pooling, lexical part
moved); the rows are scripts/experiments/ablation_rows.toml."""

import dataclasses

import ablation_rows
import pytest
from script_loader import load_script
from transformers import HfArgumentParser

from modeling.training.arguments import DataArguments, ModelArguments, TwoTowerTrainingArguments
from modeling.training.recipe import RECIPE


@pytest.fixture(scope="module")
def ablate():
    return load_script("experiments/ablate")


@pytest.fixture(scope="module")
def table():
    return ablation_rows.load()


def train_args_of(ablate, table, name, tmp_path):
    """The dataclasses train.py would parse from the command ablate.py runs for row ``name``."""
    command = ablate.train_command(table, name, tmp_path / "train.parquet", tmp_path, seed=42)
    parser = HfArgumentParser((DataArguments, ModelArguments, TwoTowerTrainingArguments))
    return parser.parse_args_into_dataclasses(command[2:])


@pytest.mark.parametrize(
    ("name", "learning_rate", "passage_max_length", "epochs", "negatives", "pooling", "lexical"),
    [
        ("stopwords", 1e-3, 256, 1.0, 1, "mean", 0),  # when 1e-3 and 256 were the defaults
        ("len128", 1e-3, 128, 1.0, 0, "mean", 0),
        ("pool-max", 1e-3, 256, 1.0, 0, "max", 0),
        ("stopwords-epochs10-lr2e-3", 2e-3, 256, 10.0, 1, "mean", 0),
        ("len64-lr8e-3-epochs3-neg3", 8e-3, 64, 3.0, 3, "mean", 0),  # the first recipes
        ("len64-lr8e-3-epochs3-neg3-attention", 8e-3, 64, 3.0, 3, "attention", 0),
        ("len64-lr8e-3-attention-lexical4096", 8e-3, 64, 1.0, 1, "attention", 4096),
        ("len64-lr8e-3-epochs3-neg3-attention-lexical1024", 8e-3, 64, 3.0, 3, "attention", 1024),
        ("len64-lr8e-3-attention-lexical4096-unidirectional", 8e-3, 64, 1.0, 1, "attention", 4096),
    ],
)
def test_rows_pin_the_settings_they_were_measured_with(
    ablate, table, tmp_path, name, learning_rate, passage_max_length, epochs, negatives, pooling,
    lexical,
):  # fmt: skip
    data_args, model_args, args = train_args_of(ablate, table, name, tmp_path)
    assert args.learning_rate == learning_rate
    assert model_args.passage_max_length == passage_max_length
    assert args.num_train_epochs == epochs
    assert data_args.num_negatives == negatives
    assert model_args.pooling == pooling
    assert model_args.lexical_buckets == lexical
    # One direction only where a row says so (the recipe's default since the fourth round).
    assert model_args.bidirectional is not name.endswith("unidirectional")
    # Stopwords were kept before the `stopwords` rows.
    assert model_args.drop_stopwords is (name not in ("len128", "pool-max"))


def test_every_measured_row_pins_every_recipe_setting(table):
    """Only `recipe` follows the defaults; any other row would silently change with them."""
    recipe_flags = {field.name for field in dataclasses.fields(RECIPE)} - {
        "seed",  # the runner's --seed
        "global_batch_size",  # per process: the row pins per_device_train_batch_size
    }
    for name in table.rows:
        if name == "recipe":
            continue
        pinned = table.train_flags(name)
        assert recipe_flags | {"per_device_train_batch_size"} <= set(pinned), name
        assert {"sources", "mined_negatives", "teacher"} <= set(table.data(name)), name


def test_distillation_rows_pass_their_teacher_vectors(ablate, table, tmp_path):
    data_args, *_ = train_args_of(ablate, table, "distill-w3", tmp_path)
    assert data_args.teacher_file == str(tmp_path / "train.teacher.parquet")
    data_args, *_ = train_args_of(ablate, table, "stopwords", tmp_path)
    assert data_args.teacher_file is None
