"""Runs systems over the evaluation tasks and scores them: ``{system: {task/metric: value}}``.

A system is ``"bm25"`` (a `BM25Retriever` indexed on each task's collection) or any
`DenseEncoder` (a two-tower checkpoint, the GloVe average, MiniLM). Dense systems encode each
collection once for all the tasks that share it, and only the passages those tasks need
(reranking alone needs the candidates, retrieval the whole collection); an `EmbeddingCache`
keeps those encodings on disk. Runs keep the top ``max(depth, 100)`` passages per query
(all candidates when reranking), then ``ir_metrics`` scores them.

Throughput is measured apart from the (possibly cached) evaluation encodings: the passages per
second a system encodes (dense) or tokenises and indexes (BM25) on a fixed sample of the first
collection, on this machine. Deliberately left out: query latency and significance tests.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Sequence

import numpy as np

from modeling.evaluation.ir_metrics import mean_metrics, ranked_ids
from modeling.evaluation.tasks import Collection, EvalTask
from modeling.retrieval.bm25 import BM25Retriever
from modeling.retrieval.encoders import DenseEncoder, EmbeddingCache, check_finite
from modeling.retrieval.search import exact_search
from modeling.retrieval.windows import split_windows

logger = logging.getLogger(__name__)

RUN_DEPTH = 100  # passages kept per query in retrieval runs (>= every metric's cut-off)
RRF_K = 60  # reciprocal rank fusion's constant (Cormack et al., 2009), never tuned here
THROUGHPUT_KEY = "passages_per_s"
PARTS = ("all", "pooled", "lexical")  # a two-tower score: pooled . pooled + lexical . lexical

Run = dict[str, dict[str, float]]


def evaluate_system(
    system: str | DenseEncoder,
    tasks: Sequence[EvalTask],
    cache: EmbeddingCache | None = None,
    throughput_passages: int = 1000,
    progress_bar: bool = True,
    runs: dict[str, Run] | None = None,
) -> dict[str, float]:
    """Scores one system on ``tasks``: ``{"dev600-rerank/MRR@10": ..., "passages_per_s": ...}``.

    Args:
        system: ``"bm25"`` or a `DenseEncoder`.
        tasks: From ``modeling.evaluation.tasks.load_tasks``.
        cache: On-disk passage embeddings for encoders with a ``cache_key`` (MiniLM).
        throughput_passages: Size of the speed sample; 0 skips the measurement.
        progress_bar: Show encoding progress.
        runs: The system's `system_runs` when the caller already has them (e.g. to fuse them).
    """
    started, ranked_here = time.perf_counter(), runs is None
    if ranked_here:
        runs = system_runs(system, tasks, cache=cache, progress_bar=progress_bar)
    results = score_runs(runs, tasks)
    name = "BM25" if isinstance(system, str) else system.name
    step = "ranked and scored" if ranked_here else "scored (ranked before)"
    logger.info("%s %s in %.0f s: %s", name, step, time.perf_counter() - started, results)
    if throughput_passages and tasks:
        sample = tasks[0].collection.texts[:throughput_passages]
        results[THROUGHPUT_KEY] = measure_throughput(system, sample)
    return results


def system_runs(
    system: str | DenseEncoder,
    tasks: Sequence[EvalTask],
    cache: EmbeddingCache | None = None,
    progress_bar: bool = True,
) -> dict[str, Run]:
    """``{task: run}`` of ``"bm25"`` (`bm25_runs`) or of a `DenseEncoder` (`dense_runs`)."""
    if isinstance(system, str):
        if system.lower() != "bm25":
            raise ValueError(f"System {system!r}: pass 'bm25' or a DenseEncoder (load_encoder).")
        return bm25_runs(tasks)
    return dense_runs(system, tasks, cache=cache, progress_bar=progress_bar)


def score_runs(runs: dict[str, Run], tasks: Sequence[EvalTask]) -> dict[str, float]:
    """``{task: run}`` -> ``{"task/metric": mean}`` with each task's own metrics and qrels."""
    results = {}
    for task in tasks:
        for metric, value in mean_metrics(runs[task.name], task.qrels, task.metrics).items():
            results[f"{task.name}/{metric}"] = value
    return results


def dense_runs(
    encoder: DenseEncoder,
    tasks: Sequence[EvalTask],
    cache: EmbeddingCache | None = None,
    progress_bar: bool = True,
) -> dict[str, Run]:
    """Encodes what the tasks need and ranks by dot product: ``{task: run}``."""
    return dense_runs_by_part(encoder, tasks, ("all",), cache, progress_bar)["all"]


def dense_runs_by_part(
    encoder: DenseEncoder,
    tasks: Sequence[EvalTask],
    parts: Sequence[str] = PARTS,
    cache: EmbeddingCache | None = None,
    progress_bar: bool = True,
) -> dict[str, dict[str, Run]]:
    """``{part: {task: run}}``: the encoder's ranking by each part of its score, encoded once.

    A two-tower model with a lexical part scores ``pooled . pooled + lexical . lexical``;
    ``"pooled"`` and ``"lexical"`` rank by one term alone (the other columns of the query
    zeroed), ``"all"`` by the sum. Passages are encoded as each task says
    (``passage_max_length``, ``passage_window``); tasks sharing a collection must agree.

    Args:
        parts: Among ``PARTS``; the halves need an encoder with a lexical part.
    """
    unknown = sorted(set(parts) - set(PARTS))
    if unknown or not parts:
        raise ValueError(f"Unknown score part(s) {unknown or parts}: choose from {PARTS}.")
    if set(parts) - {"all"} and not encoder.lexical_buckets:
        raise ValueError(
            f"{encoder.name} has no lexical part: only the 'all' part (its whole score) exists."
        )
    runs: dict[str, dict[str, Run]] = {part: {} for part in parts}
    for collection, group in _group_by_collection(tasks):
        settings = {(task.passage_max_length, task.passage_window) for task in group}
        if len(settings) > 1:
            raise ValueError(
                f"Tasks {[task.name for task in group]} share {collection.name} but encode it "
                f"differently ({sorted(settings, key=str)}): give them one passage encoding."
            )
        max_length, window = settings.pop()
        if any(task.candidates is None for task in group):
            rows = list(range(len(collection)))
        else:
            needed = {pid for task in group for pids in task.candidates.values() for pid in pids}
            rows = sorted(collection.position(pid) for pid in needed)
        texts = [collection.texts[row] for row in rows]
        owners = np.arange(len(texts))
        if window is not None:
            texts, owners = split_windows(texts, *window)
        logger.info(
            "%s: encoding %d %s of %s",
            encoder.name, len(texts), "windows" if window else "passages", collection.name,
        )  # fmt: skip
        length = {"max_length": max_length} if max_length is not None else {}
        lexical = None  # a two-tower model's lexical part, sparse
        if encoder.lexical_buckets:
            passages, lexical = encoder.encode_passages_split(
                texts, progress_bar=progress_bar, **length
            )
        elif cache is not None:
            passages = cache.encode_passages(encoder, texts, progress_bar=progress_bar, **length)
        else:
            passages = encoder.encode_passages(texts, progress_bar=progress_bar, **length)
        check_finite(passages, f"{encoder.name}'s passage vectors of {collection.name}")
        passages = (passages, lexical)
        ids = [collection.ids[row] for row in rows]
        for task in group:
            qids = list(task.queries)
            queries = encoder.encode_queries([task.queries[qid] for qid in qids])
            check_finite(queries, f"{encoder.name}'s query vectors of {task.name}")
            for part in parts:
                part_queries = _score_part(queries, encoder.lexical_buckets, part)
                if task.candidates is not None:
                    runs[part][task.name] = _rerank(
                        part_queries, qids, passages, owners, ids, task.candidates
                    )
                else:
                    runs[part][task.name] = _retrieve(
                        part_queries, qids, passages, owners, ids, max(task.depth, RUN_DEPTH)
                    )
    return runs


def _score_part(queries: np.ndarray, buckets: int, part: str) -> np.ndarray:
    """Query vectors whose dot products give only ``part`` of the score."""
    if part == "all":
        return queries
    queries = queries.copy()
    if part == "pooled":
        queries[:, -buckets:] = 0.0
    else:
        queries[:, :-buckets] = 0.0
    return queries


def _rerank(queries, qids, passages, owners, ids, candidates) -> Run:
    """Each query scores its candidates; a candidate with several windows takes the best.

    ``passages`` is ``(dense, lexical)``: the ``(n, d)`` vectors and, for a model with a lexical
    part, its sparse ``(n, buckets)`` columns (else None).
    """
    dense, lexical = passages
    windows_of: dict[str, list[int]] = {}
    for window, owner in enumerate(owners.tolist()):
        windows_of.setdefault(ids[owner], []).append(window)
    run = {}
    for qid, vector in zip(qids, queries, strict=True):
        pids = candidates[qid]
        rows = [windows_of[pid] for pid in pids]
        flat = np.fromiter(itertools.chain.from_iterable(rows), dtype=np.int64)
        scores = dense[flat] @ vector[: dense.shape[1]]
        if lexical is not None:
            scores = scores + lexical[flat] @ vector[dense.shape[1] :]
        starts = np.cumsum([0] + [len(r) for r in rows[:-1]])
        best = np.maximum.reduceat(scores, starts) if len(flat) else scores
        run[qid] = {pid: float(score) for pid, score in zip(pids, best, strict=True)}
    return run


def _retrieve(queries, qids, passages, owners, ids, depth: int) -> Run:
    """Top ``depth`` passages per query; a passage with several windows ranks by its best.

    A passage's best window comes before its others in the window ranking, so the passages in
    order of their first window are the passages ranked by their best: taking ``depth`` times
    the most windows any passage has is enough to find the top ``depth`` passages exactly.
    """
    dense, lexical = passages
    most_windows = int(np.bincount(owners).max()) if len(owners) else 1
    top_scores, top_rows = exact_search(queries, dense, depth * most_windows, lexical=lexical)
    run = {}
    for qid, scores, rows in zip(qids, top_scores, top_rows, strict=True):
        best: dict[str, float] = {}
        for score, row in zip(scores.tolist(), rows.tolist(), strict=True):
            pid = ids[owners[row]]
            if pid not in best:
                best[pid] = score
                if len(best) == depth:
                    break
        run[qid] = best
    return run


def bm25_runs(tasks: Sequence[EvalTask], **bm25_kwargs) -> dict[str, Run]:
    """BM25 indexed on each task's collection (statistics from it): ``{task: run}``.

    Reranking scores exactly the candidates with the collection's statistics.
    """
    runs = {}
    for collection, group in _group_by_collection(tasks):
        started = time.perf_counter()
        bm25 = BM25Retriever(**bm25_kwargs).index(collection.texts)
        logger.info("BM25 indexed %s in %.1f s", collection.name, time.perf_counter() - started)
        for task in group:
            qids = list(task.queries)
            texts = [task.queries[qid] for qid in qids]
            if task.candidates is not None:
                runs[task.name] = {}
                for qid, tokens in zip(qids, bm25.tokenize_queries(texts), strict=True):
                    scores = bm25.scores(tokens)  # (collection,)
                    pids = task.candidates[qid]
                    runs[task.name][qid] = {
                        pid: float(scores[collection.position(pid)]) for pid in pids
                    }
            else:
                top_rows, top_scores = bm25.retrieve(texts, max(task.depth, RUN_DEPTH))
                runs[task.name] = _run_from_rows(qids, collection.ids, top_scores, top_rows)
    return runs


def reciprocal_rank_fusion(runs: Sequence[Run], k: int = RRF_K) -> Run:
    """Fuses rankings: a passage scores ``sum(1 / (k + rank))`` over the runs that hold it (rank
    from 1, ties ordered as the metrics order them). Scores of different scales need no tuning."""
    fused: Run = {}
    for run in runs:
        for qid, scores in run.items():
            query = fused.setdefault(qid, {})
            for rank, pid in enumerate(ranked_ids(scores), start=1):
                query[pid] = query.get(pid, 0.0) + 1.0 / (k + rank)
    return fused


def zscore_fusion(runs: Sequence[Run]) -> Run:
    """Fuses scores: each run's scores for a query become z-scores (minus their mean, over their
    standard deviation), and a passage adds its z-scores over the runs, taking a run's lowest
    where that run lacks it (CombSUM of standardised scores, equal weights, never tuned)."""
    standardised = [{qid: _zscores(scores) for qid, scores in run.items()} for run in runs]
    fused: Run = {}
    for qid in set().union(*standardised):
        per_run = [run.get(qid, {}) for run in standardised]
        floors = [min(scores.values(), default=0.0) for scores in per_run]
        fused[qid] = {
            pid: sum(scores.get(pid, floor) for scores, floor in zip(per_run, floors, strict=True))
            for pid in set().union(*per_run)
        }
    return fused


def _zscores(scores: dict[str, float]) -> dict[str, float]:
    values = np.fromiter(scores.values(), dtype=np.float64, count=len(scores))
    spread = values.std() or 1.0  # one passage, or all tied: no scale to divide by
    return dict(zip(scores, ((values - values.mean()) / spread).tolist(), strict=True))


FUSIONS = {"zscore": zscore_fusion, "rrf": reciprocal_rank_fusion}
FUSION_LABELS = {"zscore": "z-score", "rrf": "RRF"}


def fuse_runs(first: dict[str, Run], second: dict[str, Run], method: str = "zscore"):
    """Two systems' ``{task: run}`` fused task by task: ``"zscore"`` (`zscore_fusion`, the
    default) or ``"rrf"`` (`reciprocal_rank_fusion`)."""
    if method not in FUSIONS:
        raise ValueError(f"Unknown fusion {method!r}: choose from {sorted(FUSIONS)}.")
    return {task: FUSIONS[method]([first[task], second[task]]) for task in first}


def measure_throughput(system: str | DenseEncoder, texts: Sequence[str]) -> float:
    """Passages per second: encoded as an index stores them (`encode_passages_split`) or
    tokenised and indexed (BM25), uncached."""
    if not texts:
        raise ValueError("The throughput sample is empty: pass at least one passage.")
    started = time.perf_counter()
    if isinstance(system, str):
        BM25Retriever().index(list(texts))
    else:
        system.encode_passages_split(list(texts))
    return len(texts) / (time.perf_counter() - started)


def format_table(results: dict[str, dict[str, float]]) -> str:
    """Markdown table, systems as rows, ``task/metric`` columns then throughput."""
    columns = []
    for values in results.values():
        columns += [key for key in values if key not in columns and key != THROUGHPUT_KEY]
    has_speed = any(THROUGHPUT_KEY in values for values in results.values())
    header = ["system", *columns] + (["passages/s"] if has_speed else [])
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for system, values in results.items():
        cells = [system] + [f"{values[c]:.3f}" if c in values else "–" for c in columns]
        if has_speed:
            speed = values.get(THROUGHPUT_KEY)
            cells.append(f"{speed:,.0f}" if speed is not None else "–")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _group_by_collection(tasks: Sequence[EvalTask]) -> list[tuple[Collection, list[EvalTask]]]:
    groups: dict[int, tuple[Collection, list[EvalTask]]] = {}
    for task in tasks:
        groups.setdefault(id(task.collection), (task.collection, []))[1].append(task)
    return list(groups.values())


def _run_from_rows(
    qids: list[str], ids: list[str], scores: np.ndarray, rows: np.ndarray
) -> dict[str, dict[str, float]]:
    return {
        qid: {ids[row]: float(score) for score, row in zip(s, r, strict=True)}
        for qid, s, r in zip(qids, scores, rows, strict=True)
    }
