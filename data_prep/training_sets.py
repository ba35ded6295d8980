"""More real training queries from ``../shared/data/msmarco``, never the evaluation queries.

Sources (canonical tables, see ``msmarco.py``):
- ``train_pairs``: ``train_pairs.jsonl``, 11,992 train queries (collection.tsv text);
- ``v2text``: ``train_pairs_v2text.jsonl``, 3,600 train queries whose passages come from the
  MS MARCO v2 collection (its ``split`` field is the source repository's split of *train*
  queries, not MS MARCO's dev or test);
- ``dev_small``: the dev.small queries of ``dev_small_positive_titled.jsonl`` that are *not*
  among dev600's 600 queries, one positive each. Its text is ``"<title> <passage>"``:
  `strip_title` removes the ``"- "`` placeholder of untitled passages and a title that ends in
  a URL; other titles stay (their end cannot be told from the passage's start).

Every source drops the queries of the evaluation tasks: dev600's 600 query ids and the DL19
queries (by id and by lower-cased text). Deliberately left out: de-duplicating queries that
appear in two sources with different ids (none do in these files).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import pyarrow as pa

from data_prep.msmarco import CANONICAL_SCHEMA, load_msmarco, to_canonical

logger = logging.getLogger(__name__)

SOURCES = ("train_pairs", "v2text", "dev_small")
_URL_TITLE = re.compile(r"^.{0,300}?\shttps?://\S+\s")


def strip_title(text: str) -> str:
    """``"<title> <passage>"`` -> the passage where the title's end is certain, else unchanged."""
    if text.startswith("- "):
        return text[2:]
    match = _URL_TITLE.match(text)
    return text[match.end() :] if match else text


def evaluation_queries(data_dir: str | Path) -> tuple[set[int], set[str]]:
    """Ids and lower-cased texts of the evaluation queries (dev600, DL19): never trained on."""
    data_dir = Path(data_dir)
    ids: set[int] = set()
    texts: set[str] = set()
    with open(data_dir / "dev600_bm25top20.jsonl", encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            ids.add(int(row["query_id"]))
            texts.add(row["query"].strip().lower())
    dl19 = json.loads((data_dir / "trec_dl19/candidates.json").read_text(encoding="utf-8"))
    for qid, text in dl19["queries"].items():
        ids.add(int(qid))
        texts.add(text.strip().lower())
    return ids, texts


def load_training_table(
    data_dir: str | Path, sources: Sequence[str] = ("train_pairs",)
) -> pa.Table:
    """Concatenates the named sources into one canonical table without evaluation queries.

    Args:
        data_dir: The MS MARCO subsets directory.
        sources: Any of ``SOURCES``, in order; a query id seen in an earlier source wins.
    """
    unknown = [name for name in sources if name not in SOURCES]
    if unknown or not sources:
        raise ValueError(f"Unknown or no training source(s) {unknown}; choose from {SOURCES}.")
    data_dir = Path(data_dir)
    eval_ids, eval_texts = evaluation_queries(data_dir)
    tables, seen = [], set()
    for name in sources:
        table = _load_source(data_dir, name)
        ids, queries = table.column("query_id").to_pylist(), table.column("query").to_pylist()
        keep = [
            i
            for i, (qid, query) in enumerate(zip(ids, queries, strict=True))
            if qid not in eval_ids and query.strip().lower() not in eval_texts and qid not in seen
        ]
        dropped = table.num_rows - len(keep)
        table = table.take(keep)
        seen.update(table.column("query_id").to_pylist())
        logger.info("%s: %d queries (%d dropped: evaluation or repeated)", name, len(keep), dropped)
        tables.append(table)
    return pa.concat_tables(tables).cast(CANONICAL_SCHEMA)


def _load_source(data_dir: Path, name: str) -> pa.Table:
    if name == "train_pairs":
        return load_msmarco(data_dir / "train_pairs.jsonl")
    if name == "v2text":
        return to_canonical(_read_jsonl(data_dir / "train_pairs_v2text.jsonl"), name)
    dev600_ids = evaluation_queries(data_dir)[0]
    records = (
        {"query_id": row["query_id"], "query": row["query"], "passage": strip_title(text)}
        for row in _read_jsonl(data_dir / "dev_small_positive_titled.jsonl")
        if int(row["query_id"]) not in dev600_ids and (text := row["positive_titled"])
    )
    return to_canonical(records, name)


def _read_jsonl(path: Path) -> Iterable[dict]:
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)
