"""Training data: the canonical parquet memory-mapped, its held-out split, small splits refused."""

import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from script_loader import load_script

from data_prep.canonical import load_training_data, training_texts
from data_prep.msmarco import CANONICAL_SCHEMA, heldout_indices


def write_canonical(path, n):
    rows = [
        {"query_id": i, "query": f"query {i}", "positives": [f"pos {i}"], "negatives": [f"n {i}"]}
        for i in range(n)
    ]
    pq.write_table(pa.Table.from_pylist(rows, schema=CANONICAL_SCHEMA), path)
    return rows


def test_canonical_parquet_is_memory_mapped_not_copied(tmp_path):
    rows = write_canonical(tmp_path / "train.parquet", 37)
    data = load_training_data(tmp_path / "train.parquet")
    assert data.cache_files, "expected an Arrow file on disk backing the dataset"
    assert data.to_list() == rows
    texts = list(training_texts(data, batch_size=5))
    assert texts[:2] == ["query 0", "query 1"] and texts[-1] == "pos 36" and len(texts) == 74


def test_heldout_split_is_deterministic_and_disjoint():
    train, heldout = heldout_indices(1000, 0.05, seed=3)
    again = heldout_indices(1000, 0.05, seed=3)
    assert np.array_equal(train, again[0]) and np.array_equal(heldout, again[1])
    assert len(heldout) == 50 and not set(train) & set(heldout)
    assert sorted([*train, *heldout]) == list(range(1000))


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--per_device_train_batch_size", "16"],
         r"held-out set has 3 queries .* fewer than one batch of 64 .*--eval_fraction"),
        (["--eval_fraction", "0.5", "--per_device_train_batch_size", "64",
          "--per_device_eval_batch_size", "8"], r"training set has 30 queries .* batch of 64"),
    ],
)  # fmt: skip
def test_train_refuses_a_split_smaller_than_one_batch(tmp_path, monkeypatch, extra, message):
    write_canonical(tmp_path / "train.parquet", 60)
    argv = ["train.py", "--train_file", str(tmp_path / "train.parquet"), "--output_dir",
            str(tmp_path / "out"), "--use_cpu", "true", *extra]  # fmt: skip
    monkeypatch.setattr(sys, "argv", argv)
    with pytest.raises(ValueError, match=message):
        load_script("train").main()
    assert not (tmp_path / "out").exists()
