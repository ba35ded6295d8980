"""scripts/experiments/ablate.py end to end on the real data: a tiny row trains through
build_training_set.py and train.py (subprocesses), is evaluated, and its figures land in its row."""

from __future__ import annotations

import ablation_rows
import pytest
from script_loader import load_script

TINY_ROW = """\
[[rows]]
name = "tiny"
help = "three steps on 160 train_pairs queries"
[rows.train]
max_train_queries = 160
eval_fraction = 0.008
max_steps = 3
per_device_train_batch_size = 16
per_device_eval_batch_size = 16
[rows.data]
sources = ["train_pairs"]
mined_negatives = 0
"""


@pytest.mark.slow
def test_a_row_runs_and_its_figures_are_appended(msmarco_dir, tmp_path):
    ablate = load_script("experiments/ablate")
    rows = tmp_path / "rows.toml"
    rows.write_text(TINY_ROW)
    common = ["--rows", "tiny", "--seed", "5", "--rows_file", str(rows), "--threads", "1"]
    ablate.main([*common, "--data_dir", str(msmarco_dir), "--work_dir", str(tmp_path / "work")])

    (run,) = ablation_rows.load(rows)["tiny"].runs
    assert (run["seed"], run["train_queries"], run["processes"]) == (5, 160, 1)
    for figure in ablation_rows.FIGURES:
        assert 0.0 < run[figure] < 1.0, figure
    assert run["train_s"] > 0
    assert not list((tmp_path / "work/runs/tiny-seed5").glob("*.safetensors"))  # not kept

    written = rows.read_text()
    ablate.main(common)  # measured at seed 5: skipped, the file untouched
    assert rows.read_text() == written
