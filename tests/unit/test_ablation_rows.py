"""scripts/experiments/ablation_rows.toml and its runner: the `recipe` row is the recipe, rows
inherit from their parents, appended figures round-trip, and --render writes the table from them."""

from __future__ import annotations

import ablation_rows
import pytest
from script_loader import load_script
from transformers import HfArgumentParser

from modeling.training.arguments import DataArguments, ModelArguments, TwoTowerTrainingArguments
from modeling.training.recipe import RECIPE

TINY = """\
# Three rows for the tests.

[[rows]]
name = "a"
help = "the base"
[rows.train]
learning_rate = 0.004
pooling = "mean"
[rows.data]
sources = ["train_pairs"]
[[rows.runs]]
seed = 1
dev600_rerank_mrr10 = 0.4
dl19_pool_ndcg10 = 0.3
train_s = 100
[[rows.runs]]
seed = 2
dev600_rerank_mrr10 = 0.44
dl19_pool_ndcg10 = 0.36
train_s = 120

[[rows]]
name = "b"
help = "a with attention pooling"
parent = "a"
[rows.train]
pooling = "attention"
[[rows.runs]]
seed = 1
machine = "device"
dev600_rerank_mrr10 = 0.5
dl19_pool_ndcg10 = 0.25
note = "train time not recorded"

[[rows]]
name = "c"
help = "never run"
parent = "b"
[rows.data]
teacher = true
"""


@pytest.fixture(scope="module")
def ablate():
    return load_script("experiments/ablate")


@pytest.fixture
def tiny(tmp_path):
    path = tmp_path / "rows.toml"
    path.write_text(TINY)
    return path


def test_rows_inherit_their_parents_settings_and_override_them(tiny):
    table = ablation_rows.load(tiny)
    assert table.train_flags("c") == {"learning_rate": 0.004, "pooling": "attention"}
    assert table.data("c") == {"sources": ["train_pairs"], "teacher": True}
    assert table.train_args("b") == ["--learning_rate", "0.004", "--pooling", "attention"]
    assert table["c"].runs == []  # figures belong to their own row


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda text: text.replace('parent = "a"', 'parent = "z"'), "Unknown ablation row 'z'"),
        (lambda text: text.replace('name = "a"', 'name = "b"'), "two rows are named 'b'"),
        (lambda text: text.replace('name = "a"', 'name = "a"\nparent = "c"'), "name each other"),
        (lambda text: text.replace("[rows.data]\nteacher", "[rows.data]\nteachers"), "data takes"),
        (lambda text: text.replace('help = "never run"', 'hepl = "never run"'), "needs a name"),
        (lambda text: text.replace('pooling = "mean"', 'pooling = ["mean"]'), "take one value"),
    ],
)
def test_bad_rows_files_fail_on_load_with_the_reason(tiny, change, message):
    tiny.write_text(change(TINY))
    with pytest.raises(ValueError, match=message):
        ablation_rows.load(tiny)


def test_appended_figures_round_trip(tiny):
    run = {"seed": 3, "dev600_rerank_mrr10": 0.4321, "train_s": 51.5, "note": 'a "quoted" word'}
    ablation_rows.append_run(tiny, "c", run)
    table = ablation_rows.load(tiny)
    assert table["c"].runs == [run]
    assert table["a"].runs[1]["train_s"] == 120 and len(table["b"].runs) == 1
    assert tiny.read_text().startswith("# Three rows for the tests.\n\n[[rows]]")
    ablation_rows.append_run(tiny, "c", {**run, "seed": 4})
    assert [run["seed"] for run in ablation_rows.load(tiny)["c"].runs] == [3, 4]


def test_the_committed_rows_file_is_written_as_dump_writes_it(tmp_path):
    """So appending a run changes only that run's lines, not the rest of the file."""
    copy = tmp_path / "rows.toml"
    ablation_rows.dump(ablation_rows.load(), copy)
    assert copy.read_text() == ablation_rows.ROWS_FILE.read_text()


def test_render_writes_the_table_between_the_markers(ablate, tiny, tmp_path):
    results = tmp_path / "RESULTS.md"
    results.write_text(
        "# Results\n\n<!-- ablation:start -->\nstale\n<!-- ablation:end -->\n\nkept\n"
    )
    ablate.main(["--render", str(results), "--rows_file", str(tiny)])
    text = results.read_text()
    assert text.startswith("# Results\n\n<!-- ablation:start -->\n")
    assert text.endswith("<!-- ablation:end -->\n\nkept\n") and "stale" not in text
    assert f"`python scripts/experiments/ablate.py --render {results}`" in text
    lines = [line for line in text.splitlines() if line.startswith("| `")]
    assert lines == [  # mean ± sample standard deviation: 0.42 ± 0.0283, 0.33 ± 0.0424, 110 ± 14
        "| `a` | the base | 2 | 0.420 ± 0.028 | 0.330 ± 0.042 | – | – | – | – | – | – | 110 ± 14 |",
        "| `b` | a with attention pooling | 1 | 0.500 | 0.250 | – | – | – | – | – | – | – |",
    ]  # `c` has no figures


def test_render_needs_both_markers(tiny, tmp_path):
    results = tmp_path / "RESULTS.md"
    results.write_text("<!-- ablation:start -->\n")
    with pytest.raises(ValueError, match="ablation:end"):
        ablation_rows.render_into(results, ablation_rows.load(tiny), "cmd")


def test_rows_measured_at_the_seed_are_skipped_without_training(ablate, tiny, monkeypatch):
    monkeypatch.setattr(ablate, "run_row", lambda *args: pytest.fail("trained a measured row"))
    ablate.main(["--rows", "a,b", "--seed", "1", "--rows_file", str(tiny)])
    with pytest.raises(ValueError, match="Unknown ablation row 'd'"):
        ablate.main(["--rows", "a,d", "--rows_file", str(tiny)])


def test_the_recipe_row_is_the_recipe(ablate, tmp_path):
    """It pins nothing: train.py's defaults are RECIPE, its table is `make train`'s."""
    table = ablation_rows.load()
    assert table.train_flags("recipe") == {} and table.data("recipe") == {}
    command = ablate.train_command(table, "recipe", tmp_path / "t.parquet", tmp_path, seed=7)
    parser = HfArgumentParser((DataArguments, ModelArguments, TwoTowerTrainingArguments))
    data, model, training = parser.parse_args_into_dataclasses(command[2:])
    assert model.config_kwargs() == RECIPE.architecture()
    assert (data.num_negatives, model.drop_stopwords) == (
        RECIPE.num_negatives,
        RECIPE.drop_stopwords,
    )
    for name in ("loss", "temperature", "learning_rate", "num_train_epochs"):
        assert getattr(training, name) == getattr(RECIPE, name), name
    assert training.per_device_train_batch_size == RECIPE.global_batch_size  # one process
    assert (training.seed, data.teacher_file) == (7, None)


def test_the_recipe_row_builds_its_table_as_make_train_does(ablate, tmp_path, monkeypatch):
    """scripts/build_training_set.py with only --data_dir and --output, as the Makefile runs it."""
    commands = []
    monkeypatch.setattr(ablate.subprocess, "run", lambda command, **_: commands.append(command))
    table = ablation_rows.load()
    path = ablate.training_table(table.data("recipe"), tmp_path / "msmarco", tmp_path)
    assert commands[0][2:] == ["--data_dir", str(tmp_path / "msmarco"), "--output", str(path)]
    ablate.training_table(table.data("distill"), tmp_path / "msmarco", tmp_path)
    assert commands[1][-4:] == ["--sources", "train_pairs,v2text,dev_small", "--negatives", "10"]
    assert commands[2][-3:] == ["--reuse_table", "--teacher", "minilm"]
