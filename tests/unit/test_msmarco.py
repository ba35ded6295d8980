"""MS MARCO loaders on written rows: every accepted schema and clear errors (the real shared
files: tests/integration/test_msmarco_files.py)."""

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from data_prep.msmarco import (
    MalformedDataError,
    load_msmarco,
    save_canonical,
)

V21_ROWS = [
    {
        "query_id": 1,
        "query": "what is a cat",
        "passages": {
            "is_selected": [0, 1, 1],
            "passage_text": ["dog", "cat", "feline"],
            "url": ["a", "b", "c"],
        },
        "answers": ["an animal"],
        "query_type": "DESCRIPTION",
        "wellFormedAnswers": [],
    },
    {"query_id": 2, "query": "no answer", "passages": {"is_selected": [0], "passage_text": ["x"]}},
]
PAIRS = [
    {"query_id": 7, "query": "q7", "pid": 70, "passage": "a"},
    {"query_id": 8, "query": "q8", "pid": 80, "passage": "b"},
    {"query_id": 7, "query": "q7", "pid": 71, "passage": "c"},
]


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def test_v21_jsonl_selected_and_all(tmp_path, caplog):
    path = write_jsonl(tmp_path / "v21.jsonl", V21_ROWS)
    table = load_msmarco(path)
    assert table.to_pylist() == [
        {
            "query_id": 1,
            "query": "what is a cat",
            "positives": ["cat", "feline"],
            "negatives": ["dog"],
        }
    ]
    assert "dropped 1 queries without a positive" in caplog.text
    every = load_msmarco(path, positives="all").to_pylist()
    assert every[0]["positives"] == ["dog", "cat", "feline"] and len(every) == 2


def test_v21_parquet_matches_jsonl(tmp_path):
    path = tmp_path / "v21.parquet"
    pq.write_table(pa.Table.from_pylist(V21_ROWS[:1]), path)
    assert (
        load_msmarco(path).to_pylist()
        == load_msmarco(write_jsonl(tmp_path / "a.jsonl", V21_ROWS[:1])).to_pylist()
    )


def test_pairs_group_by_query(tmp_path):
    table = load_msmarco(write_jsonl(tmp_path / "pairs.jsonl", PAIRS))
    assert table.column("query_id").to_pylist() == [7, 8]
    assert table.column("positives").to_pylist() == [["a", "c"], ["b"]]


def test_canonical_parquet_round_trip(tmp_path):
    table = load_msmarco(write_jsonl(tmp_path / "pairs.jsonl", PAIRS))
    save_canonical(table, tmp_path / "out" / "train.parquet")
    assert load_msmarco(tmp_path / "out" / "train.parquet").equals(table)


@pytest.mark.parametrize(
    "rows, message",
    [
        ([{"query_id": 1, "passage": "p"}], r"row 1: missing column 'query'"),
        (
            [PAIRS[0], {"query_id": 2, "query": 5, "passage": "p"}],
            r"row 2: column 'query' should be str",
        ),
        ([{"query_id": 1, "query": "q", "passages": []}], r"column 'passages' should be dict"),
        (
            [
                {
                    "query_id": 1,
                    "query": "q",
                    "passages": {"is_selected": [1], "passage_text": ["a", "b"]},
                }
            ],
            "1 flags for 2 passage_text",
        ),
        (
            [
                {
                    "query_id": 1,
                    "query": "q",
                    "passages": {"is_selected": [2], "passage_text": ["a"]},
                }
            ],
            "0/1",
        ),
    ],
)
def test_malformed_rows_name_file_row_and_fix(tmp_path, rows, message):
    path = write_jsonl(tmp_path / "bad.jsonl", rows)
    with pytest.raises(MalformedDataError, match=message) as err:
        load_msmarco(path)
    assert "bad.jsonl" in str(err.value) and "need" in str(err.value)


def test_empty_and_broken_files(tmp_path):
    (tmp_path / "empty.jsonl").write_text("")
    with pytest.raises(MalformedDataError, match="empty.jsonl is empty"):
        load_msmarco(tmp_path / "empty.jsonl")
    (tmp_path / "broken.jsonl").write_text(json.dumps(PAIRS[0]) + "\n{not json\n")
    with pytest.raises(MalformedDataError, match="broken.jsonl, line 2: not valid JSON"):
        load_msmarco(tmp_path / "broken.jsonl")
    (tmp_path / "data.csv").write_text("a,b\n")
    with pytest.raises(MalformedDataError, match="unsupported file type"):
        load_msmarco(tmp_path / "data.csv")
    with pytest.raises(FileNotFoundError, match="train_pairs.jsonl"):
        load_msmarco(tmp_path / "missing.jsonl")


def test_unreachable_hub_says_how_to_use_local_files():
    # conftest sets HF_HUB_OFFLINE=1: the real datasets call fails as it does without internet.
    with pytest.raises(ConnectionError, match="Could not load 'microsoft/ms_marco'.*--train_file"):
        load_msmarco("microsoft/ms_marco")
