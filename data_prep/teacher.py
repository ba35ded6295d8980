"""Teacher vectors for distillation: a dense teacher's embedding of every text of a training table.

The teacher (all-MiniLM-L6-v2 by default) needs no labels: the trainer compares its similarity
distribution over a batch with the student's (``losses.distillation_loss``). `build_teacher_table`
encodes every query, positive and negative of a canonical table once and stores them as a parquet
of ``text`` -> ``vector``; `TeacherVectors` looks them up for the collator. Passages are read
through the evaluation's `EmbeddingCache`, so corpus passages encoded once (e.g. by
``scripts/evaluate.py --baselines minilm``) are not encoded again.
Deliberately left out: cross-encoder teachers (scoring pairs needs a pass per pair, far too slow on
a CPU for every in-batch pair).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from modeling.retrieval.encoders import DenseEncoder, EmbeddingCache


def teacher_path(training_table_path: str | Path) -> Path:
    """Where the teacher vectors of a training table go: ``x.parquet`` -> ``x.teacher.parquet``."""
    path = Path(training_table_path)
    return path.with_name(path.name.removesuffix(".parquet") + ".teacher.parquet")


def table_texts(table: pa.Table) -> tuple[list[str], list[str]]:
    """The distinct queries and the distinct passages (positives, then negatives) of a table."""
    queries = list(dict.fromkeys(table.column("query").to_pylist()))
    passages: dict[str, None] = {}
    for column in ("positives", "negatives"):
        if column in table.column_names:
            for texts in table.column(column).to_pylist():
                passages.update(dict.fromkeys(texts or []))
    return queries, list(passages)


def build_teacher_table(
    table: pa.Table,
    encoder: DenseEncoder,
    cache: EmbeddingCache | None = None,
    extra_passages: list[str] | None = None,
    progress_bar: bool = True,
) -> pa.Table:
    """Encodes every text of ``table`` with ``encoder``: a ``text``/``vector`` table.

    Args:
        extra_passages: A passage list whose embeddings may already sit in ``cache`` in exactly
            this order (the evaluation corpus); its texts are read from there, not re-encoded.
    """
    cache = cache or EmbeddingCache()
    queries, passages = table_texts(table)
    vectors: dict[str, np.ndarray] = {}
    if extra_passages:
        known = cache.encode_passages(encoder, extra_passages, progress_bar=progress_bar)
        vectors.update(zip(extra_passages, known, strict=True))
    missing = [text for text in passages if text not in vectors]
    if missing:
        vectors.update(zip(missing, encoder.encode_passages(missing, progress_bar), strict=True))
    # Symmetric teachers embed a text the same way on both sides; a query equal to a passage
    # text keeps its query embedding (they only differ for asymmetric teachers).
    vectors.update(zip(queries, encoder.encode_queries(queries, progress_bar), strict=True))
    wanted = dict.fromkeys(queries + passages)
    matrix = np.stack([vectors[text] for text in wanted]).astype(np.float32)
    return pa.table(
        {
            "text": pa.array(list(wanted), pa.string()),
            "vector": pa.FixedSizeListArray.from_arrays(pa.array(matrix.ravel()), matrix.shape[1]),
        }
    )


class TeacherVectors:
    """``text`` -> teacher vector lookups over a table written by `build_teacher_table`."""

    def __init__(self, path: str | Path):
        table = pq.read_table(path)
        if table.column_names != ["text", "vector"]:
            raise ValueError(
                f"{path} is not a teacher table (columns text, vector); build one with "
                "scripts/build_training_set.py --teacher minilm."
            )
        self.path = str(path)
        self.vectors = np.stack(table.column("vector").to_numpy(zero_copy_only=False))
        self.row = {text: i for i, text in enumerate(table.column("text").to_pylist())}

    def __call__(self, texts: list[str]) -> np.ndarray:
        """``(len(texts), d)`` teacher vectors; a text without one is an error naming it."""
        try:
            return self.vectors[[self.row[text] for text in texts]]
        except KeyError as error:
            raise KeyError(
                f"No teacher vector for {str(error)[:80]}... in {self.path}: rebuild the teacher "
                "table from the same training table."
            ) from None
