"""MS MARCO, in any of its shapes, -> validated canonical rows and the canonical table.

Canonical columns: ``query_id: int, query: str, positives: list[str], negatives: list[str]``.

Accepted sources:
- the Hub dataset ``microsoft/ms_marco`` (config ``v2.1``), loaded with ``datasets``;
- local ``.jsonl``/``.json``/``.parquet`` files in the v2.1 schema
  (``query_id, query, passages{is_selected, passage_text, url?}``, extra fields ignored);
- passage-ranking pairs (``query_id, query, passage``, ``pid`` optional), one positive a row,
  grouped by query;
- a canonical parquet written by ``scripts/prepare_data.py`` (its schema checked, read as is).

Positives are the ``is_selected`` passages (``positives="selected"``), or all candidates as in the
seed (``positives="all"``); pairs only carry positives. Rows without a positive are dropped and
counted; a source where no row has one is refused. Rows that share a ``query_id`` are merged only
when their query texts agree; otherwise the source is refused, naming both rows. Files are read
row by row (`iter_canonical_rows`), so ``data_prep.canonical`` can stream them to parquet.
Deliberately left out: the ``queries.tsv`` + ``collection.tsv`` + qrels layout.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Iterator
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
READ_BATCH_ROWS = 4096  # parquet rows decoded to Python at a time: bounds memory on big files
LOCAL_HELP = (
    "Point --train_file at local files instead: a v2.1-schema .jsonl/.parquet "
    "(query_id, query, passages{is_selected, passage_text}) or pairs .jsonl "
    "(query_id, query, passage), e.g. ../shared/data/msmarco/train_pairs.jsonl."
)
PREPARE_HELP = "Rebuild it with `python scripts/prepare_data.py --source RAW_FILE --output FILE`."

logger = logging.getLogger(__name__)


class MalformedDataError(ValueError):
    """Input that does not match any accepted MS MARCO schema."""


def open_source(source: str | Path, split: str = "train") -> tuple[Callable[[], Iterator], str]:
    """A raw MS MARCO source -> ``(records, name)``: a function that reads its records anew on
    each call (errors name the file and line), and the name used in messages.

    Raises:
        FileNotFoundError: ``source`` is neither a file nor a Hub dataset id.
    """
    path = Path(source)
    if path.exists():
        if path.is_dir():
            raise MalformedDataError(f"{path} is a directory; pass one file. {LOCAL_HELP}")
        if path.suffix not in {".jsonl", ".json", ".parquet"}:
            raise MalformedDataError(f"{path}: unsupported file type {path.suffix!r}. {LOCAL_HELP}")
        return (lambda: _read_records(path)), str(path)
    if path.suffix in {".jsonl", ".json", ".parquet"} or "/" not in str(source):
        raise FileNotFoundError(f"{source} does not exist. {LOCAL_HELP}")
    return (lambda: _hub_records(str(source), split)), f"{source}[{split}]"


def is_canonical(path: str | Path) -> bool:
    """Whether ``path`` is a parquet file with the canonical columns (schema not yet checked)."""
    path = Path(path)
    if path.suffix != ".parquet" or not path.is_file():
        return False
    try:
        names = pq.read_schema(path).names
    except (pa.ArrowInvalid, OSError) as err:
        raise MalformedDataError(f"{path} is not a readable parquet file: {err}") from err
    return {"positives", "negatives"} <= set(names)


def check_canonical_schema(path: str | Path) -> None:
    """Raises MalformedDataError, naming the column, unless ``path`` has the canonical types."""
    schema = pq.read_schema(path)
    for expected in CANONICAL_SCHEMA:
        if expected.name not in schema.names:
            raise MalformedDataError(
                f"{path}: canonical table without the column {expected.name!r} "
                f"(has {schema.names}). {PREPARE_HELP}"
            )
        actual = schema.field(expected.name).type
        if pa.types.is_list(expected.type):
            ok = (pa.types.is_list(actual) or pa.types.is_large_list(actual)) and _is_text(
                actual.value_type
            )
        elif pa.types.is_integer(expected.type):
            ok = pa.types.is_integer(actual)
        else:
            ok = _is_text(actual)
        if not ok:
            raise MalformedDataError(
                f"{path}: column {expected.name!r} is {actual}, expected {expected.type}. "
                f"{PREPARE_HELP}"
            )


def _is_text(kind: pa.DataType) -> bool:
    return pa.types.is_string(kind) or pa.types.is_large_string(kind)


def load_msmarco(source: str | Path, split: str = "train", positives: str = "selected") -> pa.Table:
    """Loads MS MARCO from a local file or the Hub into the canonical table, in memory.

    For files too large for memory, stream them with ``data_prep.canonical.convert_msmarco`` and
    read the result with ``data_prep.canonical.load_canonical_dataset``.

    Args:
        source: A local file path, or a Hub dataset id (``microsoft/ms_marco``).
        split: Hub split to load (``train``, ``validation``, ``test``); ignored for files.
        positives: ``"selected"`` (is_selected passages) or ``"all"`` (every candidate).
    """
    if positives not in POSITIVE_CHOICES:
        raise ValueError(f"positives must be one of {POSITIVE_CHOICES}, got {positives!r}.")
    if is_canonical(source):
        check_canonical_schema(source)
        return pq.read_table(source).select(CANONICAL_SCHEMA.names).cast(CANONICAL_SCHEMA)
    records, name = open_source(source, split)
    return to_canonical(records(), name, positives, reread=records)


def save_canonical(table: pa.Table, path: str | Path) -> None:
    """Writes the canonical table as parquet (creating parent folders)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)


def to_canonical(
    records: Iterable[dict],
    name: str,
    positives: str = "selected",
    reread: Callable[[], Iterable[dict]] | None = None,
) -> pa.Table:
    """Validates raw records (v2.1 rows or pairs) and groups them into canonical rows.

    Args:
        records: Dicts in the v2.1 schema or the pairs schema (decided by the first row).
        name: File or dataset name used in error messages.
        positives: ``"selected"`` or ``"all"``.
        reread: Reads ``records`` again (see `iter_canonical_rows`).
    """
    rows: dict[int, dict] = {}  # query_id -> canonical row, in first-seen order
    for row in iter_canonical_rows(records, name, positives, reread):
        merge_row(rows.setdefault(row["query_id"], _empty_row(row)), row)
    return pa.Table.from_pylist(list(rows.values()), schema=CANONICAL_SCHEMA)


def merge_row(into: dict, row: dict) -> None:
    """Adds ``row``'s positives and negatives to ``into`` (same query), skipping repeats."""
    into["positives"] += [p for p in row["positives"] if p not in into["positives"]]
    into["negatives"] += [n for n in row["negatives"] if n not in into["negatives"]]


def _empty_row(row: dict) -> dict:
    return {"query_id": row["query_id"], "query": row["query"], "positives": [], "negatives": []}


def iter_canonical_rows(
    records: Iterable[dict],
    name: str,
    positives: str = "selected",
    reread: Callable[[], Iterable[dict]] | None = None,
) -> Iterator[dict]:
    """Validates raw records one by one and yields one canonical row per kept record.

    Each row also carries ``row`` (its 1-based record number) and ``first_row`` (the record
    number where its ``query_id`` first appeared; equal to ``row`` for a first occurrence).
    Only a hash of each query's text is kept per id, so memory grows with the number of
    queries, not with their passages.

    Args:
        records: Dicts in the v2.1 schema or the pairs schema (decided by the first row).
        name: File or dataset name used in error messages.
        positives: ``"selected"`` or ``"all"``.
        reread: Reads ``records`` again from the start; used only to quote the first text of a
            ``query_id`` whose rows disagree (without it the message quotes the later text).

    Raises:
        MalformedDataError: A malformed row, an id whose rows have different query texts, an
            empty source, or a source where no row has a positive passage.
    """
    if positives not in POSITIVE_CHOICES:
        raise ValueError(f"positives must be one of {POSITIVE_CHOICES}, got {positives!r}.")
    seen: dict[int, tuple[int, int]] = {}  # query_id -> (hash of its query text, first row)
    kind = None
    dropped = kept = 0
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
        text_hash, first = seen.setdefault(query_id, (hash(query), number))
        if text_hash != hash(query):
            raise _conflict(name, query_id, first, number, query, reread)
        kept += 1
        yield {
            "query_id": query_id,
            "query": query,
            "positives": list(dict.fromkeys(pos)),
            "negatives": list(dict.fromkeys(neg)),
            "row": number,
            "first_row": first,
        }
    if kind is None:
        raise MalformedDataError(f"{name} is empty: it has no rows. {LOCAL_HELP}")
    if not kept:
        raise MalformedDataError(
            f"{name}: none of its {dropped} rows has a positive passage (every "
            "passages.is_selected flag is 0), so there is nothing to train on. Pass "
            "--positives all to use every candidate passage as a positive, or fix the "
            "is_selected flags."
        )
    if dropped:
        logger.warning("%s: dropped %d queries without a positive passage.", name, dropped)
    logger.info("%s: %d queries in %d rows (%s schema).", name, len(seen), kept, kind)


def _conflict(name, query_id, first, number, query, reread) -> MalformedDataError:
    first_text = None
    if reread is not None:
        for position, record in enumerate(reread(), start=1):
            if position == first:
                first_text = record.get("query")
                break
    earlier = f"{first_text!r:.200}" if first_text is not None else "a different text"
    return MalformedDataError(
        f"{name}: query_id {query_id} has two different query texts: row {first} says "
        f"{earlier}, row {number} says {query!r:.200}. One id must name one query; fix or drop "
        "one of the rows (or give them different ids)."
    )


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


def _query_id(record: dict, name: str, number: int, fix: str) -> int:
    value = _require(record, "query_id", (int, str), name, number, fix)
    try:
        query_id = int(value)
    except ValueError:
        raise MalformedDataError(
            f"{name}, row {number}: column 'query_id' is {value!r:.60}, not a whole number. {fix}"
        ) from None
    if not 0 <= query_id < 2**63:
        raise MalformedDataError(
            f"{name}, row {number}: query_id {query_id} is outside 0 .. 2**63-1. {fix}"
        )
    return query_id


def _parse_v21(record: dict, name: str, number: int, positives: str):
    query_id = _query_id(record, name, number, V21_FIX)
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
    query_id = _query_id(record, name, number, PAIRS_FIX)
    query = _require(record, "query", str, name, number, PAIRS_FIX)
    passage = _require(record, "passage", str, name, number, PAIRS_FIX)
    return query_id, query, passage


def _read_records(path: Path) -> Iterator[dict]:
    if path.suffix == ".parquet":
        try:
            batches = pq.ParquetFile(path).iter_batches(batch_size=READ_BATCH_ROWS)
            for batch in batches:
                yield from batch.to_pylist()
        except (pa.ArrowInvalid, OSError) as err:
            raise MalformedDataError(f"{path} is not a readable parquet file: {err}") from err
        return
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as err:
                raise MalformedDataError(
                    f"{path}, line {number}: byte {raw[err.start]:#04x} at column "
                    f"{err.start + 1} is not UTF-8. Re-encode the file as UTF-8 (e.g. "
                    f"`iconv -f latin1 -t utf-8 {path.name} > fixed.jsonl`)."
                ) from None
            if not line.strip():
                continue
            try:
                yield json.loads(line)
            except json.JSONDecodeError as err:
                raise MalformedDataError(
                    f"{path}, line {number}: not valid JSON ({err.msg}); expected one JSON "
                    "object per line (jsonl)."
                ) from err


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


def heldout_indices(num_rows: int, fraction: float, seed: int = 0):
    """Row numbers ``(train, heldout)``: disjoint, each sorted, the same for the same seed."""
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"The held-out fraction must be in (0, 1), got {fraction}.")
    import numpy as np

    order = np.random.default_rng(seed).permutation(num_rows)
    n_heldout = max(2, round(fraction * num_rows))
    if n_heldout >= num_rows:
        raise ValueError(f"{num_rows} queries are too few to hold out {fraction:.0%}.")
    return np.sort(order[n_heldout:]), np.sort(order[:n_heldout])


def split_heldout(table: pa.Table, fraction: float, seed: int = 0) -> tuple[pa.Table, pa.Table]:
    """Splits whole queries (never single pairs) into a training and a held-out table."""
    train, heldout = heldout_indices(table.num_rows, fraction, seed)
    return table.take(train), table.take(heldout)
