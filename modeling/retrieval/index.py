"""On-disk search index: encode a corpus once, load it, answer queries with top-k.

An index is a directory:
- ``embeddings.npy``: ``(n, d)`` float32 passage vectors in corpus order (memory-mapped on load);
- ``ids.txt``: the passage ids, one per line, same order;
- ``texts.jsonl`` + ``text_offsets.npy``: the passage texts, read back by seeking (optional);
- ``lexical.npz``: for a model with a lexical part (``lexical_buckets``), that part of every
  passage vector as a sparse matrix stored by column (one posting list per bucket);
  ``embeddings.npy`` then holds the pooled part alone;
- ``index.json``: the model reference, sizes, and the embedding of a fixed probe passage, so a
  query-time model that differs from the indexing model is refused with a clear error.

`build_index` (``modeling.retrieval.index_build``, re-exported here) writes one; a loaded
`SearchIndex` holds its files open, so a rebuild that lands meanwhile does not change its answers.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import sparse

from modeling.retrieval.encoders import DenseEncoder
from modeling.retrieval.index_build import (
    INDEX_FILES,
    INDEX_FORMAT,
    PROBE_TEXT,
    build_index,
    check_index_dir,
    distributed_state,
)
from modeling.retrieval.search import exact_search, faiss_search

logger = logging.getLogger(__name__)

__all__ = [
    "INDEX_FILES", "INDEX_FORMAT", "PROBE_TEXT", "Hit", "SearchIndex", "build_index",
    "check_index_dir", "distributed_state", "search",
]  # fmt: skip

PROBE_TOLERANCE = 1e-3  # max abs difference of the probe vector: float noise, not another model


@dataclass
class Hit:
    """One search result."""

    pid: str
    score: float
    text: str | None = None


class SearchIndex:
    """A loaded index directory (see the module docstring for its files)."""

    def __init__(self, directory: str | Path):
        self.directory = Path(directory)
        meta_path = self.directory / "index.json"
        if not meta_path.exists():
            raise ValueError(
                f"{self.directory} is not an index (no index.json); build one with "
                "`python scripts/search.py build --model ... --corpus ... --index_dir DIR`."
            )
        self.meta = json.loads(meta_path.read_text())
        if self.meta.get("format") != INDEX_FORMAT:
            raise ValueError(
                f"{meta_path}: index format {self.meta.get('format')} is not {INDEX_FORMAT}; "
                "rebuild the index with this version."
            )
        self.embeddings = np.load(self.directory / "embeddings.npy", mmap_mode="r")
        self.lexical = None
        if self.meta.get("lexical_buckets"):
            self.lexical = sparse.load_npz(self.directory / "lexical.npz").tocsc()
        self.ids = (self.directory / "ids.txt").read_text(encoding="utf-8").split("\n")[:-1]
        if len(self.ids) != self.embeddings.shape[0] or len(self.ids) != self.meta["num_passages"]:
            raise ValueError(
                f"{self.directory}: ids, embeddings and index.json disagree on the number of "
                "passages; the index is damaged, rebuild it."
            )
        offsets = self.directory / "text_offsets.npy"
        self._offsets = np.load(offsets, mmap_mode="r") if offsets.exists() else None
        # Held open: a rebuild that lands later replaces the name, not this file's contents.
        self._texts = None
        if self._offsets is not None:
            self._texts = open(self.directory / "texts.jsonl", "rb")  # noqa: SIM115
        self._faiss = None

    def close(self) -> None:
        """Closes the texts file (the other files are memory-mapped or in memory)."""
        if getattr(self, "_texts", None) is not None:
            self._texts.close()
            self._texts = None

    def __enter__(self) -> SearchIndex:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self) -> None:
        self.close()

    @property
    def model_reference(self) -> str:
        """What built the index: a checkpoint path, ``all-MiniLM-L6-v2`` or ``glove-avg``."""
        return self.meta["model"]

    def __len__(self) -> int:
        return len(self.ids)

    def text(self, row: int) -> str | None:
        """Text of passage ``row``; None when the index was built without texts."""
        if self._offsets is None:
            return None
        self._texts.seek(int(self._offsets[row]))
        return json.loads(self._texts.readline())

    def texts(self) -> list[str] | None:
        """Every passage text in corpus order; None when the index was built without texts."""
        if self._offsets is None:
            return None
        with open(self.directory / "texts.jsonl", encoding="utf-8") as handle:
            return [json.loads(line) for line in handle]

    def check_encoder(self, encoder: DenseEncoder) -> None:
        """Raises ValueError unless ``encoder`` gives the vectors the index was built with."""
        probe = encoder.encode_passages([PROBE_TEXT])[0]
        stored = np.asarray(self.meta["probe_embedding"], dtype=np.float32)
        advice = (
            f"rebuild the index with this model, or search with the model that built it "
            f"(--model {self.model_reference})."
        )
        if probe.shape != stored.shape:
            raise ValueError(
                f"Index {self.directory} holds {stored.shape[0]}-dimensional vectors from "
                f"{self.model_reference}, but {encoder.reference or encoder.name} gives "
                f"{probe.shape[0]}-dimensional ones: {advice}"
            )
        difference = float(np.abs(probe - stored).max())
        if not difference <= PROBE_TOLERANCE:  # NaN compares false: a NaN probe is a mismatch
            raise ValueError(
                f"Index {self.directory} was built with {self.model_reference}; "
                f"{encoder.reference or encoder.name} encodes its probe passage differently "
                f"(max difference {difference:.3g}), so scores would be meaningless: {advice}"
            )

    def search(
        self,
        query_embeddings: np.ndarray,
        k: int = 10,
        backend: str = "exact",
        chunk_size: int | None = None,
        with_text: bool = True,
    ) -> list[list[Hit]]:
        """Top-``k`` hits per query vector, best first."""
        if backend == "exact":
            scores, rows = exact_search(
                query_embeddings, self.embeddings, k, chunk_size, lexical=self.lexical
            )
        elif backend == "faiss":
            if self.lexical is not None:
                raise ValueError(
                    f"Index {self.directory} has a sparse lexical part, which FAISS's flat "
                    "index cannot score: use --backend exact (the default)."
                )
            scores, rows, self._faiss = faiss_search(
                query_embeddings, self.embeddings, min(k, len(self)), faiss_index=self._faiss
            )
        else:
            raise ValueError(f"Unknown backend {backend!r}: use 'exact' (default) or 'faiss'.")
        return [
            [
                Hit(self.ids[row], float(score), self.text(row) if with_text else None)
                for score, row in zip(query_scores, query_rows, strict=True)
                if row >= 0
            ]
            for query_scores, query_rows in zip(scores, rows, strict=True)
        ]


def search(
    index: SearchIndex, encoder: DenseEncoder, queries: list[str], k: int = 10, **kwargs
) -> list[list[Hit]]:
    """Checks that ``encoder`` matches the index, encodes ``queries``, returns their top-k.

    A query the encoder cannot answer (`DenseEncoder.why_unanswerable`: empty, only stopwords)
    gets no hits and a logged warning saying why, instead of the same arbitrary passages.
    """
    index.check_encoder(encoder)
    reasons = [encoder.why_unanswerable(query) for query in queries]
    for query, reason in zip(queries, reasons, strict=True):
        if reason:
            logger.warning("No results for the query %r: %s.", query, reason)
    answerable = [query for query, reason in zip(queries, reasons, strict=True) if not reason]
    hits = iter(
        index.search(encoder.encode_queries(answerable), k=k, **kwargs) if answerable else []
    )
    return [[] if reason else next(hits) for reason in reasons]  # no arbitrary hits
