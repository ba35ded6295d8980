"""Evaluation on toy tasks checkable by hand: dense reranking and retrieval, the embedding cache,
the GloVe average, fusion, the table (the real tasks, BM25 against DESIGN.md's figures and the
script: tests/integration/test_evaluation_tasks.py)."""

from __future__ import annotations

import numpy as np
import pytest

from modeling.evaluation.runner import (
    dense_runs,
    format_table,
    fuse_runs,
    reciprocal_rank_fusion,
    score_runs,
    zscore_fusion,
)
from modeling.evaluation.tasks import Collection, EvalTask
from modeling.retrieval.encoders import DenseEncoder, EmbeddingCache


class KeywordEncoder(DenseEncoder):
    """One dimension per keyword, so every score can be checked by hand; counts what it encodes."""

    name = "keywords"
    words = ("flea", "blood", "concrete")

    def __init__(self, cache_key: str = ""):
        self.encoded: list[str] = []
        self._cache_key = cache_key

    @property
    def cache_key(self) -> str:
        return self._cache_key

    def encode_queries(self, texts, progress_bar=False):
        return self._encode(texts)

    def encode_passages(self, texts, progress_bar=False):
        self.encoded += list(texts)
        return self._encode(texts)

    def _encode(self, texts):
        vectors = np.array(
            [[w in t.lower() for w in self.words] + [0.1] for t in texts], np.float32
        )
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


@pytest.fixture
def toy_tasks():
    collection = Collection(
        "toy",
        ids=["p1", "p2", "p3", "p4", "p5"],
        texts=[
            "Concrete floors",
            "The flea life cycle",
            "Flea eggs",
            "Blood cells",
            "Flea and blood",
        ],
    )
    queries = {"q1": "flea bites", "q2": "blood type"}
    qrels = {"q1": {"p2": 1}, "q2": {"p4": 2, "p5": 1}}
    rerank = EvalTask("rerank", queries, qrels, collection, ("MRR@10",),
                      candidates={"q1": ["p1", "p2"], "q2": ["p1", "p3"]})  # fmt: skip
    retrieve = EvalTask("retrieve", queries, qrels, collection, ("MRR@10", "R@1", "nDCG@10"))
    return rerank, retrieve


def test_dense_reranking_scores_only_the_candidates(toy_tasks):
    rerank, _ = toy_tasks
    encoder = KeywordEncoder()
    runs = dense_runs(encoder, [rerank], progress_bar=False)
    assert sorted(encoder.encoded) == ["Concrete floors", "Flea eggs", "The flea life cycle"]
    assert {qid: set(scores) for qid, scores in runs["rerank"].items()} == {
        "q1": {"p1", "p2"},
        "q2": {"p1", "p3"},
    }
    # q1: p2 (flea) beats p1; q2: neither candidate is relevant.
    assert score_runs(runs, [rerank]) == {"rerank/MRR@10": pytest.approx(0.5)}


def test_dense_retrieval_ranks_the_whole_collection(toy_tasks):
    rerank, retrieve = toy_tasks
    encoder = KeywordEncoder()
    runs = dense_runs(encoder, [rerank, retrieve], progress_bar=False)
    assert len(encoder.encoded) == 5  # both tasks share one encoding of the collection
    assert len(runs["retrieve"]["q1"]) == 5
    results = score_runs(runs, [retrieve])
    # q1 "flea": p2 and p3 tie exactly; the larger id, p3, ranks first: relevant p2 is 2nd.
    # q2 "blood": p4 (grade 2) first, then p5 (grade 1): the ideal order, recall@1 = 1/2.
    assert runs["retrieve"]["q1"]["p2"] == runs["retrieve"]["q1"]["p3"]
    assert results["retrieve/MRR@10"] == pytest.approx((0.5 + 1) / 2)
    assert results["retrieve/R@1"] == pytest.approx((0 + 0.5) / 2)
    assert results["retrieve/nDCG@10"] == pytest.approx((1 / np.log2(3) + 1) / 2)


def test_embedding_cache_reads_back_instead_of_encoding(tmp_path):
    cache = EmbeddingCache(tmp_path)
    encoder = KeywordEncoder(cache_key="keywords-v1")
    first = cache.encode_passages(encoder, ["flea", "blood"])
    second = cache.encode_passages(encoder, ["flea", "blood"])
    np.testing.assert_array_equal(first, second)
    assert encoder.encoded == ["flea", "blood"]  # the second call read the file
    cache.encode_passages(encoder, ["blood", "flea"])  # other texts (order): other file
    assert len(encoder.encoded) == 4 and len(list(tmp_path.rglob("*.npy"))) == 2
    uncached = KeywordEncoder()  # no cache key: never written to disk
    cache.encode_passages(uncached, ["flea"])
    cache.encode_passages(uncached, ["flea"])
    assert uncached.encoded == ["flea", "flea"] and len(list(tmp_path.rglob("*.npy"))) == 2


def test_glove_average_is_the_normalised_mean_of_known_words(tiny_vocab, tiny_tokenizer):
    from modeling.retrieval.baselines import GloveAverageEncoder

    encoder = GloveAverageEncoder(tiny_vocab, tiny_tokenizer)
    vectors = encoder.encode_passages(["The cat xqzvwk", "", "the"])
    row = {word: i for i, word in enumerate(tiny_vocab.words)}
    mean = (
        tiny_vocab.vectors[row["the"]] + tiny_vocab.vectors[row["cat"]]
    ) / 2  # unknown word ignored
    np.testing.assert_allclose(vectors[0], mean / np.linalg.norm(mean), atol=1e-6)
    assert not vectors[1].any()  # no known word: a zero vector, not NaN
    np.testing.assert_allclose(encoder.encode_queries(["the"]), vectors[2:], atol=1e-7)


def test_reciprocal_rank_fusion_hand_computed():
    dense = {"q1": {"a": 0.9, "b": 0.5, "c": 0.1}, "q2": {"a": 1.0}}
    bm25 = {"q1": {"c": 12.0, "a": 3.0, "d": 3.0}}  # a and d tie: the larger id ranks first
    fused = reciprocal_rank_fusion([dense, bm25], k=10)
    assert fused["q1"] == pytest.approx(
        {"a": 1 / 11 + 1 / 13, "b": 1 / 12, "c": 1 / 13 + 1 / 11, "d": 1 / 12}
    )
    assert fused["q2"] == pytest.approx({"a": 1 / 11})  # a query BM25 did not answer


def test_zscore_fusion_hand_computed():
    dense = {"q1": {"a": 3.0, "b": 1.0}, "q2": {"a": 5.0}}
    bm25 = {"q1": {"b": 20.0, "c": 10.0, "d": 0.0}}  # z-scores 1.2247, 0, -1.2247
    fused = zscore_fusion([dense, bm25])
    z = 1.5**0.5  # (20 - 10) / std(20, 10, 0)
    assert fused["q1"] == pytest.approx(
        {"a": 1.0 - z, "b": -1.0 + z, "c": -1.0 + 0.0, "d": -1.0 - z}
    )  # a lacks a BM25 score: BM25's lowest stands in; c and d lack a dense one: -1
    assert fused["q2"] == {"a": 0.0}  # one passage: no spread to standardise by
    with pytest.raises(ValueError, match="Unknown fusion 'mean'"):
        fuse_runs({"t": dense}, {"t": bm25}, "mean")
    assert fuse_runs({"t": dense}, {"t": bm25}) == {"t": fused}  # the default


def test_format_table_has_one_row_per_system():
    table = format_table(
        {"BM25": {"t/MRR@10": 0.38391, "passages_per_s": 12345.6}, "m": {"t/MRR@10": 0.2}}
    )
    lines = table.splitlines()
    assert lines[0] == "| system | t/MRR@10 | passages/s |"
    assert lines[2] == "| BM25 | 0.384 | 12,346 |" and lines[3] == "| m | 0.200 | – |"
