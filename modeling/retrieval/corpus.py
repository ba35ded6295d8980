"""Streams a passage corpus in chunks of ``(ids, texts)``, so memory stays bounded.

Formats, chosen by file extension:
- ``.tsv``: ``pid<TAB>text`` per line (MS MARCO ``collection.tsv``, ``corpus.tsv``).
- ``.jsonl``: one object per line with an id field (``pid``, ``id``, ``_id``, ``docid`` or
  ``passage_id``) and a text field (``text``, ``passage``, ``contents`` or ``passage_text``).
- ``.parquet``: columns with the same names, read in record batches.
Deliberately left out: compressed files and the v2.1 nested layout (``data_prep``'s MS MARCO
loader reads that); de-duplication (ids are kept as given, in file order).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

ID_FIELDS = ("pid", "id", "_id", "docid", "passage_id")
TEXT_FIELDS = ("text", "passage", "contents", "passage_text")
FORMATS = (".tsv", ".jsonl", ".parquet")


def iter_corpus(
    path: str | Path, chunk_size: int = 50_000
) -> Iterator[tuple[list[str], list[str]]]:
    """Yields ``(ids, texts)`` chunks of at most ``chunk_size`` passages, in file order.

    Args:
        path: A ``.tsv``, ``.jsonl`` or ``.parquet`` corpus file.
        chunk_size: Passages per chunk.
    """
    path = Path(path)
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be a positive integer, got {chunk_size}.")
    if not path.exists():
        raise ValueError(
            f"Corpus file {path} does not exist; pass --corpus PATH (tsv/jsonl/parquet)."
        )
    if path.suffix not in FORMATS:
        raise ValueError(
            f"{path}: unknown corpus format {path.suffix!r}; use one of {FORMATS} "
            "(tsv: pid<TAB>text; jsonl/parquet: an id and a text field)."
        )
    if path.suffix == ".parquet":
        yield from _iter_parquet(path, chunk_size)
        return
    ids: list[str] = []
    texts: list[str] = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            pid, text = (
                _parse_tsv(line, path, number)
                if path.suffix == ".tsv"
                else _parse_json(line, path, number)
            )
            ids.append(pid)
            texts.append(text)
            if len(ids) == chunk_size:
                yield ids, texts
                ids, texts = [], []
    if ids:
        yield ids, texts


def _parse_tsv(line: str, path: Path, number: int) -> tuple[str, str]:
    parts = line.rstrip("\n").split("\t", 1)
    if len(parts) != 2:
        raise ValueError(f"{path}, line {number}: expected 'pid<TAB>text'.")
    return parts[0], parts[1]


def _parse_json(line: str, path: Path, number: int) -> tuple[str, str]:
    row = json.loads(line)
    return str(row[_field(row, ID_FIELDS, path, number)]), row[
        _field(row, TEXT_FIELDS, path, number)
    ]


def _field(row: dict, names: tuple[str, ...], path: Path, number: int | str) -> str:
    for name in names:
        if name in row:
            return name
    raise ValueError(f"{path}, row {number}: no field among {names}; found {sorted(row)}.")


def _iter_parquet(path: Path, chunk_size: int) -> Iterator[tuple[list[str], list[str]]]:
    import pyarrow.parquet as pq

    parquet = pq.ParquetFile(path)
    columns = {name: None for name in parquet.schema_arrow.names}
    id_name = _field(columns, ID_FIELDS, path, "schema")
    text_name = _field(columns, TEXT_FIELDS, path, "schema")
    for batch in parquet.iter_batches(batch_size=chunk_size, columns=[id_name, text_name]):
        ids = [str(pid) for pid in batch.column(id_name).to_pylist()]
        yield ids, batch.column(text_name).to_pylist()
