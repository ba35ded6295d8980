"""Exact top-k search by inner product, chunk by chunk, with a sparse lexical part.

`exact_search` is a batched matrix product with a running top-k over corpus chunks, taking the
queries in blocks, so neither the full score matrix nor the queries' sparse lexical products ever
have to fit in memory; a model's lexical part (``lexical_buckets``) is scored through posting
lists (`split_lexical`). FAISS (``pip install faiss-cpu``) is an optional backend
for dense-only vectors. Deliberately left out: approximate indexes trained on the data (IVF/PQ).
"""

from __future__ import annotations

import numpy as np
import torch
from scipy import sparse

SCORE_BUDGET = 1 << 24  # score-matrix elements per corpus chunk (64 MB of float32)
MAX_CHUNK_ROWS = 1 << 17  # passage rows copied out of the (memory-mapped) matrix at a time
MAX_QUERY_BLOCK = SCORE_BUDGET // 1024  # queries per block: keeps a 1024-passage chunk in budget
# Non-zeros of one block's sparse lexical product (query, passage pairs sharing a bucket), bounded
# before it is computed by the lengths of the queries' posting lists.
LEXICAL_BUDGET = 1 << 23


def split_lexical(vectors: np.ndarray, buckets: int) -> tuple[np.ndarray, sparse.csc_matrix]:
    """``(n, d + buckets)`` vectors -> their pooled part ``(n, d)`` and lexical part, sparse.

    The lexical part comes back column-major (CSC): one posting list per bucket, so a query
    reads only the passages that share one of its few buckets."""
    vectors = np.asarray(vectors, dtype=np.float32)
    if not 0 < buckets < vectors.shape[1]:
        raise ValueError(f"Cannot split {buckets} lexical buckets off {vectors.shape} vectors.")
    return np.ascontiguousarray(vectors[:, :-buckets]), sparse.csc_matrix(vectors[:, -buckets:])


def exact_search(
    queries: np.ndarray | torch.Tensor,
    passages: np.ndarray | torch.Tensor,
    k: int,
    chunk_size: int | None = None,
    lexical: sparse.sparray | sparse.spmatrix | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` passages by inner product, computed chunk by chunk over the corpus.

    Args:
        queries: ``(q, d)`` query vectors (``(q, d + buckets)`` with ``lexical``).
        passages: ``(n, d)`` passage vectors; a ``np.memmap`` is read one chunk at a time.
        k: Results per query (capped at ``n``).
        chunk_size: Passages scored at once; None keeps the ``(block, chunk)`` score matrix
            near ``SCORE_BUDGET`` elements (at most ``MAX_CHUNK_ROWS`` passages). Queries go in
            blocks of at most ``MAX_QUERY_BLOCK``, and with ``lexical`` of at most
            ``LEXICAL_BUDGET`` non-zeros in their sparse product.
        lexical: ``(n, buckets)`` sparse lexical parts of the passages (`split_lexical`; CSC
            is fastest, other formats are converted on each call): the queries' last
            ``buckets`` columns are scored against it through its posting lists, the rest
            against ``passages``; the same scores as the full dense vectors.

    Returns:
        ``(scores, rows)``, both ``(q, k)``: scores descending, ties by ascending row.
    """
    q = torch.as_tensor(np.asarray(queries, dtype=np.float32))
    width = passages.shape[1] + (lexical.shape[1] if lexical is not None else 0)
    if q.ndim != 2 or passages.ndim != 2 or q.shape[1] != width:
        raise ValueError(
            f"Query vectors {tuple(q.shape)} and passage vectors {tuple(passages.shape)} must be "
            "2-D with the same width: encode both with the model that built the index."
        )
    n = passages.shape[0]
    k = min(k, n)
    if k < 1:
        raise ValueError(f"k must be >= 1 and the corpus non-empty (k={k}, {n} passages).")
    posting_lists, blocks = None, _query_blocks(q.shape[0], None)
    if lexical is not None:
        if lexical.shape[0] != n:
            raise ValueError(f"{lexical.shape[0]} lexical rows for {n} passages.")
        lexical = sparse.csc_matrix(lexical)
        posting_lists = lexical.T  # (buckets, n) CSR: one row per bucket
        # An upper bound of each query's non-zeros in the product: its posting lists' lengths.
        q_lexical = sparse.csr_matrix(q[:, passages.shape[1] :].numpy())
        q_lexical.data = np.diff(lexical.indptr)[q_lexical.indices].astype(np.float64)
        blocks = _query_blocks(q.shape[0], np.asarray(q_lexical.sum(axis=1)).ravel())
    results = []
    for start, stop in blocks:
        size = chunk_size or min(MAX_CHUNK_ROWS, max(1024, SCORE_BUDGET // (stop - start)))
        results.append(_search_block(q[start:stop], passages, posting_lists, k, size))
    return (
        np.concatenate([scores for scores, _ in results]),
        np.concatenate([rows for _, rows in results]),
    )


def _query_blocks(num_queries: int, nonzeros: np.ndarray | None) -> list[tuple[int, int]]:
    """``[start, stop)`` query ranges of at most ``MAX_QUERY_BLOCK`` queries whose lexical
    products hold at most ``LEXICAL_BUDGET`` non-zeros (bounded by ``nonzeros``; one query at
    least per block)."""
    blocks, start, total = [], 0, 0.0
    for i in range(num_queries):
        cost = 0.0 if nonzeros is None else float(nonzeros[i])
        if i > start and (i - start == MAX_QUERY_BLOCK or total + cost > LEXICAL_BUDGET):
            blocks.append((start, i))
            start, total = i, 0.0
        total += cost
    if num_queries:
        blocks.append((start, num_queries))
    return blocks


def _search_block(q, passages, posting_lists, k, chunk_size):
    """`exact_search` for one block of queries: a running top-k over corpus chunks."""
    n = passages.shape[0]
    shared = None
    if posting_lists is not None:
        q_lexical = sparse.csr_matrix(q[:, passages.shape[1] :].numpy())
        q = q[:, : passages.shape[1]]
        # (block, buckets) x (buckets, n): each query walks only its buckets' posting lists.
        shared = (q_lexical @ posting_lists).tocsc()  # (block, n), mostly zeros
    best_scores = torch.empty(q.shape[0], 0)
    best_rows = torch.empty(q.shape[0], 0, dtype=torch.long)
    for start in range(0, n, chunk_size):
        chunk = torch.from_numpy(np.array(passages[start : start + chunk_size], dtype=np.float32))
        scores = q @ chunk.T  # (block, chunk)
        if shared is not None:
            chunk_shared = shared[:, start : start + chunk_size].toarray()
            scores += torch.from_numpy(chunk_shared.astype(np.float32, copy=False))
        top = torch.topk(scores, min(k, chunk.shape[0]), dim=1)
        best_scores = torch.cat([best_scores, top.values], dim=1)  # (block, <= 2k)
        best_rows = torch.cat([best_rows, top.indices + start], dim=1)
        best_scores, best_rows = _top_k_ordered(best_scores, best_rows, k)
    return best_scores.numpy(), best_rows.numpy()


def _top_k_ordered(scores: torch.Tensor, rows: torch.Tensor, k: int):
    # Rows ascending first, then a stable sort by score: equal scores keep the lower row first.
    by_row = torch.argsort(rows, dim=1, stable=True)
    scores, rows = scores.gather(1, by_row), rows.gather(1, by_row)
    by_score = torch.argsort(scores, dim=1, descending=True, stable=True)[:, :k]
    return scores.gather(1, by_score), rows.gather(1, by_score)


def faiss_search(
    queries: np.ndarray, passages: np.ndarray, k: int, chunk_size: int = 100_000, faiss_index=None
):
    """Top-``k`` by inner product with a FAISS flat index (exact; multithreaded).

    Returns:
        ``(scores, rows, faiss_index)``; pass the index back to reuse it.
    """
    try:
        import faiss
    except ImportError as err:
        raise ImportError(
            "The FAISS backend needs `pip install faiss-cpu` (or -e '.[faiss]'); "
            "the default --backend exact needs nothing."
        ) from err
    if faiss_index is None:
        faiss_index = faiss.IndexFlatIP(passages.shape[1])
        for start in range(0, passages.shape[0], chunk_size):
            faiss_index.add(np.ascontiguousarray(passages[start : start + chunk_size], np.float32))
    scores, rows = faiss_index.search(np.ascontiguousarray(queries, np.float32), k)
    return scores, rows, faiss_index
