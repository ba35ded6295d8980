"""MS MARCO, in any of its shapes, -> one canonical table.

Canonical columns: ``query_id: int, query: str, positives: list[str], negatives: list[str]``.

Accepted sources:
- the Hub dataset ``microsoft/ms_marco`` (config ``v2.1``), loaded with ``datasets``;
- local ``.jsonl``/``.json``/``.parquet`` files in the v2.1 schema
  (``query_id, query, passages{is_selected, passage_text, url?}``, extra fields ignored);
- passage-ranking pairs (``query_id, query, passage``, ``pid`` optional), one positive a row,
  grouped by query;
- a canonical parquet written by ``scripts/prepare_data.py`` (read as is).

Positives are the ``is_selected`` passages (``positives="selected"``), or all candidates as in the
seed (``positives="all"``); pairs only carry positives. Rows without a positive are dropped and
counted. Deliberately left out: the ``queries.tsv`` + ``collection.tsv`` + qrels layout.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

HUB_DATASET = "microsoft/ms_marco"
HUB_CONFIG = "v2.1"
POSITIVE_CHOICES = ("selected", "all")
CANONICAL_SCHEMA = pa.schema(
    [
        ("query_id", pa.int64()),
        ("query", pa.string()),
        ("positives", pa.list_(pa.string())),
        ("negatives", pa.list_(pa.string())),
    ]
)
LOCAL_HELP = (
    "Point --train_file at local files instead: a v2.1-schema .jsonl/.parquet "
    "(query_id, query, passages{is_selected, passage_text}) or pairs .jsonl "
    "(query_id, query, passage), e.g. ../shared/data/msmarco/train_pairs.jsonl."
)

logger = logging.getLogger(__name__)


class MalformedDataError(ValueError):
    """Input that does not match any accepted MS MARCO schema."""


def load_msmarco(source: str | Path, split: str = "train", positives: str = "selected") -> pa.Table:
    """Loads MS MARCO from a local file or the Hub into the canonical table.

    Args:
        source: A local file path, or a Hub dataset id (``microsoft/ms_marco``).
        split: Hub split to load (``train``, ``validation``, ``test``); ignored for files.
        positives: ``"selected"`` (is_selected passages) or ``"all"`` (every candidate).
    """
    if positives not in POSITIVE_CHOICES:
        raise ValueError(f"positives must be one of {POSITIVE_CHOICES}, got {positives!r}.")
    path = Path(source)
    if path.exists():
        if path.is_dir():
            raise MalformedDataError(f"{path} is a directory; pass one file. {LOCAL_HELP}")
        if path.suffix == ".parquet" and _is_canonical(path):
            return pq.read_table(path).select(CANONICAL_SCHEMA.names).cast(CANONICAL_SCHEMA)
        return to_canonical(_read_records(path), str(path), positives)
    if path.suffix in {".jsonl", ".json", ".parquet"} or "/" not in str(source):
        raise FileNotFoundError(f"{source} does not exist. {LOCAL_HELP}")
    return to_canonical(_hub_records(str(source), split), f"{source}[{split}]", positives)


def save_canonical(table: pa.Table, path: str | Path) -> None:
    """Writes the canonical table as parquet (creating parent folders)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)


def to_canonical(records: Iterable[dict], name: str, positives: str = "selected") -> pa.Table:
    """Validates raw records (v2.1 rows or pairs) and groups them into canonical rows.

    Args:
        records: Dicts in the v2.1 schema or the pairs schema (decided by the first row).
        name: File or dataset name used in error messages.
        positives: ``"selected"`` or ``"all"``.
    """
    rows: dict[int, dict] = {}  # query_id -> canonical row, in first-seen order
    kind = None
    dropped = 0
    for number, record in enumerate(records, start=1):
        if not isinstance(record, dict):
            raise MalformedDataError(
                f"{name}, row {number}: expected a JSON object, got {record!r:.80}."
            )
        kind = kind or ("v2.1" if "passages" in record else "pairs")
        if kind == "v2.1":
            query_id, query, pos, neg = _parse_v21(record, name, number, positives)
            if not pos:
                dropped += 1
                continue
        else:
            query_id, query, passage = _parse_pair(record, name, number)
            pos, neg = [passage], []
        row = rows.setdefault(
            query_id, {"query_id": query_id, "query": query, "positives": [], "negatives": []}
        )
        row["positives"] += [p for p in pos if p not in row["positives"]]
        row["negatives"] += [n for n in neg if n not in row["negatives"]]
    if kind is None:
        raise MalformedDataError(f"{name} is empty: it has no rows. {LOCAL_HELP}")
    if dropped:
        logger.warning("%s: dropped %d queries without a positive passage.", name, dropped)
    logger.info("%s: %d queries (%s schema).", name, len(rows), kind)
    return pa.Table.from_pylist(list(rows.values()), schema=CANONICAL_SCHEMA)


def _require(record: dict, field: str, kind: type | tuple, name: str, number: int, fix: str):
    if field not in record:
        raise MalformedDataError(f"{name}, row {number}: missing column {field!r}. {fix}")
    value = record[field]
    if not isinstance(value, kind) or isinstance(value, bool):
        raise MalformedDataError(
            f"{name}, row {number}: column {field!r} should be {_type_name(kind)}, "
            f"got {type(value).__name__} {value!r:.60}. {fix}"
        )
    return value


def _type_name(kind) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(k.__name__ for k in kinds)


V21_FIX = (
    "v2.1 rows need query_id (int), query (str), passages{is_selected: [0/1], passage_text: [str]}."
)
PAIRS_FIX = "Pairs rows need query_id (int), query (str), passage (str)."


def _parse_v21(record: dict, name: str, number: int, positives: str):
    query_id = int(_require(record, "query_id", (int, str), name, number, V21_FIX))
    query = _require(record, "query", str, name, number, V21_FIX)
    passages = _require(record, "passages", dict, name, number, V21_FIX)
    texts = _require(passages, "passage_text", list, name, number, V21_FIX)
    selected = _require(passages, "is_selected", list, name, number, V21_FIX)
    if len(texts) != len(selected):
        raise MalformedDataError(
            f"{name}, row {number}: passages.is_selected has {len(selected)} flags for "
            f"{len(texts)} passage_text entries; they must pair up one to one. {V21_FIX}"
        )
    if not all(isinstance(t, str) for t in texts) or not all(s in (0, 1) for s in selected):
        raise MalformedDataError(
            f"{name}, row {number}: passage_text must hold strings and is_selected 0/1. {V21_FIX}"
        )
    if positives == "all":
        return query_id, query, list(texts), []
    pos = [t for t, s in zip(texts, selected, strict=True) if s]
    neg = [t for t, s in zip(texts, selected, strict=True) if not s]
    return query_id, query, pos, neg


def _parse_pair(record: dict, name: str, number: int):
    query_id = int(_require(record, "query_id", (int, str), name, number, PAIRS_FIX))
    query = _require(record, "query", str, name, number, PAIRS_FIX)
    passage = _require(record, "passage", str, name, number, PAIRS_FIX)
    return query_id, query, passage


def _is_canonical(path: Path) -> bool:
    return {"positives", "negatives"} <= set(pq.read_schema(path).names)


def _read_records(path: Path) -> Iterator[dict]:
    if path.suffix == ".parquet":
        try:
            table = pq.read_table(path)
        except pa.ArrowInvalid as err:
            raise MalformedDataError(f"{path} is not a readable parquet file: {err}") from err
        yield from table.to_pylist()
    elif path.suffix in {".jsonl", ".json"}:
        with path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    yield json.loads(line)
                except json.JSONDecodeError as err:
                    raise MalformedDataError(
                        f"{path}, line {number}: not valid JSON ({err.msg}); expected one JSON "
                        "object per line (jsonl)."
                    ) from err
    else:
        raise MalformedDataError(f"{path}: unsupported file type {path.suffix!r}. {LOCAL_HELP}")


def _hub_records(dataset_id: str, split: str) -> Iterator[dict]:
    import datasets

    try:
        dataset = datasets.load_dataset(dataset_id, HUB_CONFIG, split=split)
    except Exception as err:  # the Hub raises many types: connection, offline mode, 404 ...
        raise ConnectionError(
            f"Could not load {dataset_id!r} ({HUB_CONFIG}, split {split!r}) from the Hugging Face "
            f"Hub: {type(err).__name__}: {err}. If this machine has no internet, {LOCAL_HELP}"
        ) from err
    yield from dataset


def split_heldout(table: pa.Table, fraction: float, seed: int = 0) -> tuple[pa.Table, pa.Table]:
    """Splits whole queries (never single pairs) into a training and a held-out table."""
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"The held-out fraction must be in (0, 1), got {fraction}.")
    import numpy as np

    order = np.random.default_rng(seed).permutation(table.num_rows)
    n_heldout = max(2, round(fraction * table.num_rows))
    if n_heldout >= table.num_rows:
        raise ValueError(f"{table.num_rows} queries are too few to hold out {fraction:.0%}.")
    return table.take(np.sort(order[n_heldout:])), table.take(np.sort(order[:n_heldout]))
