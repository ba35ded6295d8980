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

`build_index` runs data-parallel under ``accelerate launch``: corpus chunk ``i`` goes to process
``i % world_size``; each process writes its chunks, then the main process merges them in corpus
order. Under plain ``python`` it is one process. Deliberately left out: incremental updates;
rebuild the index instead.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from scipy import sparse

from modeling.retrieval.corpus import iter_corpus
from modeling.retrieval.encoders import DenseEncoder
from modeling.retrieval.search import exact_search, faiss_search, split_lexical

logger = logging.getLogger(__name__)

INDEX_FORMAT = 1
PROBE_TEXT = "The quick brown fox jumps over the lazy dog near the river bank in 1999."
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
        self._faiss = None

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
        with open(self.directory / "texts.jsonl", "rb") as handle:
            handle.seek(int(self._offsets[row]))
            return json.loads(handle.readline())

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


def build_index(
    encoder: DenseEncoder,
    corpus: str | Path,
    index_dir: str | Path,
    chunk_size: int = 50_000,
    store_texts: bool = True,
    progress_bar: bool = True,
) -> Path:
    """Encodes ``corpus`` chunk by chunk into an index directory, data-parallel if launched so.

    Under ``accelerate launch`` with N processes, every process calls this; each encodes the
    chunks ``i`` with ``i % N == rank`` and the main process merges them in corpus order.

    Args:
        encoder: The passage encoder (place it on ``PartialState().device`` for GPUs).
        corpus: A ``.tsv``/``.jsonl``/``.parquet`` file (see ``modeling.retrieval.corpus``).
        index_dir: Output directory; an existing index there is replaced.
        chunk_size: Passages read and encoded at a time (bounds memory, unit of sharding).
        store_texts: Keep passage texts so that results can show them.
        progress_bar: Show an encoding progress bar on the main process.

    Returns:
        ``index_dir``.
    """
    state = distributed_state()
    index_dir = Path(index_dir)
    parts = index_dir / "_parts"
    if state.is_main_process:
        if parts.exists():
            shutil.rmtree(parts)
        parts.mkdir(parents=True)
        (index_dir / "index.json").unlink(missing_ok=True)  # written last: marks a complete index
    state.wait_for_everyone()
    started, encoded = time.perf_counter(), 0
    for number, (ids, texts) in enumerate(iter_corpus(corpus, chunk_size)):
        if number % state.num_processes != state.process_index:
            continue
        for pid in ids:
            if "\n" in pid or not pid:
                raise ValueError(f"{corpus}: passage id {pid!r} is empty or holds a newline.")
        embeddings = encoder.encode_passages(
            texts, progress_bar=progress_bar and state.is_main_process
        )
        prefix = parts / f"{number:08d}"
        if encoder.lexical_buckets:
            embeddings, lexical = split_lexical(embeddings, encoder.lexical_buckets)
            sparse.save_npz(prefix.with_suffix(".lexical.npz"), lexical)
        _write_part(prefix, ids, texts if store_texts else None, embeddings)
        encoded += len(ids)
        rate = encoded / (time.perf_counter() - started)
        logger.info(
            "Process %d: chunk %d encoded (%d passages so far, %.0f/s)",
            state.process_index,
            number,
            encoded,
            rate,
        )
    state.wait_for_everyone()
    if state.is_main_process:
        _merge_parts(parts, index_dir, encoder, corpus, state.num_processes, store_texts)
        shutil.rmtree(parts)
    state.wait_for_everyone()
    return index_dir


def distributed_state():
    """accelerate's `PartialState`: N processes under ``accelerate launch``, one otherwise.

    CPU processes (no CUDA, or ``ACCELERATE_USE_CPU=1``) need ``cpu=True`` to form a gloo
    group; without it each launched process would run alone and encode the whole corpus.
    """
    from accelerate import PartialState
    from accelerate.utils import parse_flag_from_env

    return PartialState(
        cpu=parse_flag_from_env("ACCELERATE_USE_CPU") or not torch.cuda.is_available()
    )


def _write_part(prefix: Path, ids: list[str], texts: list[str] | None, embeddings: np.ndarray):
    np.save(prefix.with_suffix(".npy"), np.asarray(embeddings, dtype=np.float32))
    prefix.with_suffix(".ids").write_text("".join(f"{pid}\n" for pid in ids), encoding="utf-8")
    if texts is not None:
        lines = [(json.dumps(text, ensure_ascii=False) + "\n").encode("utf-8") for text in texts]
        prefix.with_suffix(".texts").write_bytes(b"".join(lines))
        np.save(prefix.with_suffix(".lengths.npy"), np.array([len(line) for line in lines]))


def _merge_parts(parts, index_dir, encoder, corpus, num_processes, store_texts) -> None:
    chunks = sorted(parts.glob("*[0-9].npy"))  # one per chunk, named by corpus position
    if [int(path.stem) for path in chunks] != list(range(len(chunks))):
        raise ValueError(f"Chunks are missing in {parts}: a process failed; rerun the build.")
    if not chunks:
        raise ValueError(f"{corpus} holds no passage; nothing to index.")
    shapes = [np.load(path, mmap_mode="r").shape for path in chunks]
    total, dim = sum(shape[0] for shape in shapes), shapes[0][1]
    embeddings = np.lib.format.open_memmap(
        index_dir / "embeddings.npy", mode="w+", dtype=np.float32, shape=(total, dim)
    )
    offsets = np.zeros(total, dtype=np.int64) if store_texts else None
    row, position = 0, 0
    ids_path, texts_path = index_dir / "ids.txt", index_dir / "texts.jsonl"
    with open(ids_path, "wb") as ids_out, open(texts_path, "wb") as texts_out:
        for path in chunks:
            block = np.load(path)
            embeddings[row : row + len(block)] = block
            ids_out.write(path.with_suffix(".ids").read_bytes())
            if store_texts:
                lengths = np.load(path.with_suffix(".lengths.npy"))
                starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
                offsets[row : row + len(block)] = position + starts
                texts_out.write(path.with_suffix(".texts").read_bytes())
                position += int(lengths.sum())
            row += len(block)
    embeddings.flush()
    if encoder.lexical_buckets:
        lexical = [sparse.load_npz(path.with_suffix(".lexical.npz")) for path in chunks]
        sparse.save_npz(index_dir / "lexical.npz", sparse.vstack(lexical, format="csc"))
    if store_texts:
        np.save(index_dir / "text_offsets.npy", offsets)
    else:
        (index_dir / "texts.jsonl").unlink()
        (index_dir / "text_offsets.npy").unlink(missing_ok=True)
    meta = {
        "format": INDEX_FORMAT,
        "model": encoder.reference or encoder.name,
        "model_name": encoder.name,
        "num_passages": total,
        "dim": dim + encoder.lexical_buckets,
        "lexical_buckets": encoder.lexical_buckets,
        "corpus": str(Path(corpus).resolve()),
        "chunks": len(chunks),
        "num_processes": num_processes,
        "probe_embedding": encoder.encode_passages([PROBE_TEXT])[0].tolist(),
    }
    (index_dir / "index.json").write_text(json.dumps(meta, indent=1))
    logger.info(
        "Index of %d passages (%d-d + %d sparse lexical buckets) written to %s",
        total,
        dim,
        encoder.lexical_buckets,
        index_dir,
    )
