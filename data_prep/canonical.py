"""Large MS MARCO sources -> the canonical parquet, streamed; and that parquet, memory-mapped.

`convert_msmarco` reads a source record by record (``data_prep.msmarco.iter_canonical_rows``)
and writes parquet row group by row group, so memory holds one group plus an id -> text-hash
map, whatever the source's size. Rows that repeat a ``query_id`` with the same text (pairs files
have one row per positive) are merged into the first row in a second pass over the written file.
`load_canonical_dataset` (and `load_training_data`, which also takes raw sources) memory-maps
a canonical parquet as a ``datasets.Dataset`` (through the datasets cache), so training reads
rows from disk instead of holding Python lists.
Deliberately left out: sharded output files.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from tqdm.auto import tqdm

from data_prep.msmarco import (
    CANONICAL_SCHEMA,
    POSITIVE_CHOICES,
    READ_BATCH_ROWS,
    check_canonical_schema,
    is_canonical,
    iter_canonical_rows,
    load_msmarco,
    merge_row,
    open_source,
)

ROW_GROUP_ROWS = 10_000  # canonical rows per parquet row group: the unit held in memory

logger = logging.getLogger(__name__)


def convert_msmarco(
    source: str | Path,
    output: str | Path,
    split: str = "train",
    positives: str = "selected",
    row_group_rows: int = ROW_GROUP_ROWS,
    progress_bar: bool = True,
) -> dict[str, int]:
    """Streams a raw MS MARCO source (or a canonical parquet) into a canonical parquet file.

    The file is written under a temporary name beside ``output`` and renamed at the end, so a
    failed or interrupted run leaves no half-written ``output``.

    Args:
        source: A local ``.jsonl``/``.parquet`` file or a Hub dataset id (see ``msmarco.py``).
        output: The parquet file to write (parent folders are created).
        split: Hub split; ignored for files.
        positives: ``"selected"`` or ``"all"``.
        row_group_rows: Canonical rows per row group.
        progress_bar: Show a rows-read progress bar.

    Returns:
        ``{"queries": ..., "positives": ..., "rows": ...}`` of the written table.
    """
    if positives not in POSITIVE_CHOICES:
        raise ValueError(f"positives must be one of {POSITIVE_CHOICES}, got {positives!r}.")
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(f".{output.name}.partial")
    try:
        if is_canonical(source):
            check_canonical_schema(source)
            stats = _copy_canonical(Path(source), partial, row_group_rows)
        else:
            stats = _stream_raw(source, partial, split, positives, row_group_rows, progress_bar)
        os.replace(partial, output)
    finally:
        partial.unlink(missing_ok=True)
    return stats


def _stream_raw(source, partial: Path, split, positives, row_group_rows, progress_bar) -> dict:
    records, name = open_source(source, split)
    later: dict[int, dict] = {}  # query_id -> rows after its first one, merged (usually empty)
    stats = {"queries": 0, "positives": 0, "rows": 0}
    group: list[dict] = []
    with pq.ParquetWriter(partial, CANONICAL_SCHEMA) as writer:
        rows = iter_canonical_rows(records(), name, positives, reread=records)
        for row in tqdm(
            rows, desc=f"Reading {Path(name).name}", unit=" rows", disable=not progress_bar
        ):
            stats["rows"] += 1
            if row["row"] != row["first_row"]:
                merge_row(later.setdefault(row["query_id"], _bare(row)), row)
                continue
            group.append(_bare(row))
            if len(group) == row_group_rows:
                _write(writer, group, stats)
                group = []
        if group:
            _write(writer, group, stats)
    if later:
        # Merge the repeated ids' later rows into their first rows, group by group.
        stats["positives"] = 0
        merged = partial.with_name(partial.name + ".merged")
        with pq.ParquetWriter(merged, CANONICAL_SCHEMA) as writer:
            for batch in pq.ParquetFile(partial).iter_batches(batch_size=row_group_rows):
                group = batch.to_pylist()
                for row in group:
                    if row["query_id"] in later:
                        merge_row(row, later[row["query_id"]])
                _write(writer, group, stats, count_queries=False)
        os.replace(merged, partial)
    return stats


def _bare(row: dict) -> dict:
    return {name: row[name] for name in CANONICAL_SCHEMA.names}


def _write(writer: pq.ParquetWriter, group: list[dict], stats: dict, count_queries=True) -> None:
    writer.write_table(pa.Table.from_pylist(group, schema=CANONICAL_SCHEMA))
    stats["queries"] += len(group) if count_queries else 0
    stats["positives"] += sum(len(row["positives"]) for row in group)


def _copy_canonical(source: Path, partial: Path, row_group_rows: int) -> dict:
    stats = {"queries": 0, "positives": 0, "rows": 0}
    parquet = pq.ParquetFile(source)
    with pq.ParquetWriter(partial, CANONICAL_SCHEMA) as writer:
        for batch in parquet.iter_batches(
            batch_size=row_group_rows, columns=CANONICAL_SCHEMA.names
        ):
            table = pa.Table.from_batches([batch]).cast(CANONICAL_SCHEMA)
            writer.write_table(table)
            stats["queries"] += table.num_rows
            stats["rows"] += table.num_rows
            stats["positives"] += sum(len(p) for p in table.column("positives").to_pylist())
    return stats


def load_canonical_dataset(path: str | Path, cache_dir: str | None = None):
    """A canonical parquet as a memory-mapped ``datasets.Dataset`` (schema checked first).

    The first call converts the file into the datasets cache (Arrow, read in record batches);
    later calls on the unchanged file reuse it.

    Args:
        path: A canonical parquet (``scripts/prepare_data.py`` writes one).
        cache_dir: The datasets cache (default ``$HF_DATASETS_CACHE``).
    """
    import datasets

    check_canonical_schema(path)
    features = datasets.Features.from_arrow_schema(CANONICAL_SCHEMA)
    dataset = datasets.Dataset.from_parquet(
        str(path), cache_dir=cache_dir, columns=CANONICAL_SCHEMA.names, batch_size=READ_BATCH_ROWS
    )
    if dataset.features != features:
        dataset = dataset.cast(features)
    return dataset


def load_training_data(source: str | Path, split: str = "train", positives: str = "selected"):
    """Training data as a ``datasets.Dataset``: a canonical parquet memory-mapped
    (`load_canonical_dataset`); any other source (see ``msmarco.py``) converted in memory."""
    import datasets

    if is_canonical(source):
        return load_canonical_dataset(source)
    return datasets.Dataset(load_msmarco(source, split, positives))


def training_texts(dataset, batch_size: int = 10_000) -> Iterator[str]:
    """The queries and positives of a canonical ``datasets.Dataset``, read batch by batch."""
    for batch in dataset.select_columns(["query", "positives"]).iter(batch_size=batch_size):
        yield from batch["query"]
        for positives in batch["positives"]:
            yield from positives
