"""BM25-mined hard negatives: each training query's top BM25 passages that are not its positives.

The passages come from a corpus (``corpus.tsv``: ``pid<TAB>text``); BM25 is the evaluation's
`BM25Retriever` (k1=0.9, b=0.4, stopwords, Snowball stemmer), indexed on that corpus. A passage
is excluded when its whitespace-normalised text equals one of the query's positives, so the
query's own answer (which the corpus usually holds) is never a negative. The ``skip`` first
non-positive hits can be left out too: the very top of BM25 often holds unlabelled answers
(false negatives). The result is the canonical table with its ``negatives`` column filled, hardest
first; the collator draws ``--num_negatives`` of them per query and batch.
Deliberately left out: cross-encoder denoising of false negatives and dense (model-mined)
negatives.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import pyarrow as pa

from data_prep.msmarco import CANONICAL_SCHEMA

logger = logging.getLogger(__name__)


def _normalise(text: str) -> str:
    return " ".join(text.split())


def mine_bm25_negatives(
    table: pa.Table,
    corpus_texts: Sequence[str],
    depth: int = 30,
    keep: int = 10,
    skip: int = 0,
    batch_size: int = 2048,
) -> pa.Table:
    """Fills ``negatives`` with BM25's best non-positive corpus passages for every query.

    Args:
        table: Canonical table (``query``, ``positives``); existing negatives are replaced.
        corpus_texts: The passages to mine from.
        depth: BM25 hits retrieved per query.
        keep: Negatives stored per query (fewer when the hits run out).
        skip: Non-positive hits skipped at the top (likely unlabelled answers).
        batch_size: Queries retrieved at a time (bounds memory).
    """
    if keep < 1 or depth < 1 or skip < 0:
        raise ValueError(f"Need keep >= 1, depth >= 1, skip >= 0; got {keep}, {depth}, {skip}.")
    if skip + keep > depth:
        raise ValueError(f"depth ({depth}) must be >= skip + keep ({skip} + {keep}).")
    from modeling.retrieval.bm25 import BM25Retriever  # the evaluation's exact BM25 settings

    corpus_texts = list(corpus_texts)
    normalised = [_normalise(text) for text in corpus_texts]
    bm25 = BM25Retriever().index(corpus_texts)
    queries = table.column("query").to_pylist()
    positives = table.column("positives").to_pylist()
    negatives, short = [], 0
    for start in range(0, len(queries), batch_size):
        rows, _ = bm25.retrieve(queries[start : start + batch_size], depth)  # (b, depth)
        for offset, hits in enumerate(rows):
            own = {_normalise(text) for text in positives[start + offset]}
            chosen = [int(row) for row in hits if normalised[row] not in own][skip : skip + keep]
            short += len(chosen) < keep
            negatives.append([corpus_texts[row] for row in chosen])
    if short:
        logger.warning("%d queries got fewer than %d BM25 negatives.", short, keep)
    mined = table.set_column(
        table.schema.get_field_index("negatives"),
        "negatives",
        pa.array(negatives, type=pa.list_(pa.string())),
    )
    return mined.cast(CANONICAL_SCHEMA)
