"""MS MARCO input validation: conflicting ids, no positives, bad bytes, bad ids and column types."""

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from data_prep.canonical import convert_msmarco
from data_prep.msmarco import MalformedDataError, load_msmarco


def v21(query_id, query, selected=(0, 1), texts=("dog", "cat")):
    passages = {"is_selected": list(selected), "passage_text": list(texts)}
    return {"query_id": query_id, "query": query, "passages": passages}


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


@pytest.mark.parametrize("read", ["memory", "stream"])
def test_one_id_with_two_texts_is_refused_naming_both(tmp_path, read):
    rows = [v21(1, "what is a cat"), v21(2, "other"), v21(1, "what is a dog")]
    path = write_jsonl(tmp_path / "conflict.jsonl", rows)
    with pytest.raises(MalformedDataError) as err:
        if read == "memory":
            load_msmarco(path)
        else:
            convert_msmarco(path, tmp_path / "out.parquet", progress_bar=False)
    message = str(err.value)
    assert "conflict.jsonl" in message and "query_id 1" in message
    assert "row 1 says 'what is a cat'" in message and "row 3 says 'what is a dog'" in message
    assert not (tmp_path / "out.parquet").exists()


def test_same_id_same_text_still_merges_when_streamed(tmp_path):
    pairs = [
        {"query_id": 7, "query": "q7", "passage": "a"},
        {"query_id": 8, "query": "q8", "passage": "b"},
        {"query_id": 7, "query": "q7", "passage": "c"},
        {"query_id": 7, "query": "q7", "passage": "a"},
    ]
    path = write_jsonl(tmp_path / "pairs.jsonl", pairs)
    stats = convert_msmarco(path, tmp_path / "out.parquet", row_group_rows=1, progress_bar=False)
    table = pq.read_table(tmp_path / "out.parquet")
    assert table.to_pylist() == load_msmarco(path).to_pylist()
    assert table.column("positives").to_pylist() == [["a", "c"], ["b"]]
    assert stats == {"queries": 2, "positives": 3, "rows": 4}


def test_no_selected_passage_anywhere_suggests_positives_all(tmp_path):
    path = write_jsonl(tmp_path / "unlabelled.jsonl", [v21(1, "a", (0, 0)), v21(2, "b", (0, 0))])
    with pytest.raises(
        MalformedDataError, match="none of its 2 rows has a positive.*--positives all"
    ):
        convert_msmarco(path, tmp_path / "out.parquet", progress_bar=False)
    assert load_msmarco(path, positives="all").num_rows == 2


def test_non_utf8_bytes_name_the_file_and_line(tmp_path):
    path = tmp_path / "latin1.jsonl"
    good = json.dumps(v21(1, "cafe")) + "\n"
    path.write_bytes(good.encode() + good.replace("cafe", "caf\u00e9").encode("latin-1"))
    with pytest.raises(MalformedDataError, match=r"latin1.jsonl, line 2: byte 0xe9 .* not UTF-8"):
        load_msmarco(path)


@pytest.mark.parametrize("query_id", ["123abc", 1.5, -4])
def test_bad_query_id_names_row_and_column(tmp_path, query_id):
    path = write_jsonl(tmp_path / "ids.jsonl", [v21(1, "fine"), v21(query_id, "bad")])
    with pytest.raises(MalformedDataError, match=r"ids.jsonl, row 2: .*query_id") as err:
        load_msmarco(path)
    assert "v2.1 rows need" in str(err.value)


def test_wrongly_typed_canonical_parquet_column_is_named(tmp_path):
    path = tmp_path / "canonical.parquet"
    table = pa.table(
        {
            "query_id": ["12x"],
            "query": ["q"],
            "positives": [["p"]],
            "negatives": [[]],
        },
        schema=pa.schema(
            [
                ("query_id", pa.string()),
                ("query", pa.string()),
                ("positives", pa.list_(pa.string())),
                ("negatives", pa.list_(pa.string())),
            ]
        ),
    )
    pq.write_table(table, path)
    for read in (load_msmarco, lambda p: convert_msmarco(p, tmp_path / "o.parquet")):
        with pytest.raises(MalformedDataError, match="column 'query_id' is string, expected int64"):
            read(path)


def test_wrongly_typed_v21_parquet_column_is_named(tmp_path):
    path = tmp_path / "v21.parquet"
    pq.write_table(pa.Table.from_pylist([{"query_id": 1, "query": "q", "passages": "text"}]), path)
    with pytest.raises(MalformedDataError, match="row 1: column 'passages' should be dict"):
        convert_msmarco(path, tmp_path / "o.parquet", progress_bar=False)


def test_streamed_parquet_equals_the_in_memory_table(tmp_path):
    rows = [v21(i, f"query {i}", (i % 2, 1), (f"a{i}", f"b{i}")) for i in range(23)]
    source = tmp_path / "v21.parquet"
    pq.write_table(pa.Table.from_pylist(rows), source, row_group_size=5)
    convert_msmarco(source, tmp_path / "out.parquet", row_group_rows=4, progress_bar=False)
    written = pq.ParquetFile(tmp_path / "out.parquet")
    assert written.metadata.num_row_groups == 6
    assert written.read().equals(load_msmarco(source))
