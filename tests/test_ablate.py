"""scripts/ablate.py: every row reruns with the settings it was measured with, whatever train.py's
defaults have become since (learning rate, passage length, epochs, pooling, lexical part moved)."""

import argparse
import json

import pytest
from script_loader import load_script
from transformers import HfArgumentParser

from modeling.training.arguments import DataArguments, ModelArguments, TwoTowerTrainingArguments


@pytest.fixture(scope="module")
def ablate():
    return load_script("experiments/ablate")


def train_args_of(ablate, row, monkeypatch, tmp_path):
    """The dataclasses train.py would parse from the command ablate.py runs for ``row``."""
    commands = []

    def fake_run(command, **kwargs):
        commands.append(command)
        (tmp_path / "train_summary.json").write_text(json.dumps({"train": {}}))

    monkeypatch.setattr(ablate.subprocess, "run", fake_run)
    options = argparse.Namespace(epochs=1.0, seed=42, threads=None, extra_args="", data_dir=".")
    ablate.train_row(row, tmp_path / "train.parquet", tmp_path, options)
    parser = HfArgumentParser((DataArguments, ModelArguments, TwoTowerTrainingArguments))
    return parser.parse_args_into_dataclasses(commands[0][2:])


def test_row_names_are_unique(ablate):
    names = [row.name for row in ablate.ROWS]
    assert len(names) == len(set(names))


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
    ablate, monkeypatch, tmp_path, name, learning_rate, passage_max_length, epochs, negatives,
    pooling, lexical,
):  # fmt: skip
    row = next(row for row in ablate.ROWS if row.name == name)
    data_args, model_args, args = train_args_of(ablate, row, monkeypatch, tmp_path)
    assert args.learning_rate == learning_rate
    assert model_args.passage_max_length == passage_max_length
    assert args.num_train_epochs == epochs
    assert data_args.num_negatives == negatives
    assert model_args.pooling == pooling
    assert model_args.lexical_buckets == lexical
    # One direction only where a row says so (the recipe's default since the fourth round).
    assert model_args.bidirectional is not name.endswith("unidirectional")
    assert model_args.drop_stopwords is not row.keep_stopwords


def test_every_python_row_equals_its_toml_row(ablate, monkeypatch, tmp_path):
    """The move to ablation_rows.toml: each row parses to the same train.py arguments and data."""
    import ablation_rows

    table = ablation_rows.load()
    parser = HfArgumentParser((DataArguments, ModelArguments, TwoTowerTrainingArguments))
    assert [row.name for row in ablate.ROWS] == [name for name in table.rows if name != "recipe"]
    monkeypatch.setattr(ablate, "ensure_teacher", lambda *_: tmp_path / "teacher.parquet")
    for row in ablate.ROWS:
        old = [vars(args) for args in train_args_of(ablate, row, monkeypatch, tmp_path)]
        data = table.data(row.name)
        command = [
            "--train_file", str(tmp_path / "train.parquet"), "--output_dir", str(tmp_path),
            "--seed", "42", "--save_strategy", "no", "--disable_tqdm", "true",
            "--wandb", "disabled", "--logging_steps", "50", "--report_to", "none",
            *(["--teacher_file", str(tmp_path / "teacher.parquet")] if data["teacher"] else []),
            *table.train_args(row.name),
        ]  # fmt: skip
        new = [vars(args) for args in parser.parse_args_into_dataclasses(command)]
        for args in (*old, *new):
            args.pop("distributed_state", None)  # an object per parse, equal by identity only
        assert new == old, row.name
        assert data == {
            "sources": list(row.sources),
            "mined_negatives": 10 if row.mined_negatives else 0,  # mine_bm25_negatives' keep
            "teacher": row.teacher,
        }, row.name
