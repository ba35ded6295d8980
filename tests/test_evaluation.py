"""Evaluation: the three real tasks, BM25 against DESIGN.md's figures, dense runs, cache, script."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from script_loader import load_script

from modeling.evaluation.runner import (
    dense_runs,
    evaluate_system,
    format_table,
    reciprocal_rank_fusion,
    score_runs,
)
from modeling.evaluation.tasks import Collection, EvalTask, load_tasks
from modeling.retrieval.encoders import DenseEncoder, EmbeddingCache

REPO_ROOT = Path(__file__).resolve().parents[1]

# DESIGN.md's reference table: bm25s, k1=0.9, b=0.4, English stopwords + Snowball stemmer.
BM25_REFERENCE = {
    "dev600-rerank/MRR@10": 0.384,
    "dev600-retrieve/MRR@10": 0.383,
    "dev600-retrieve/R@100": 0.998,
    "dl19-pool/nDCG@10": 0.442,
}


def test_tasks_have_the_documented_sizes(msmarco_dir):
    rerank, retrieve, dl19 = load_tasks(msmarco_dir)
    assert len(rerank.queries) == 540 and rerank.queries == retrieve.queries
    assert all(len(pids) == 20 for pids in rerank.candidates.values())
    assert rerank.collection is retrieve.collection and len(retrieve.collection) == 38_877
    assert retrieve.candidates is None and retrieve.metrics == ("MRR@10", "R@100")
    assert len(dl19.queries) == 43 and len(dl19.collection) == 14_581
    assert {g for judged in dl19.qrels.values() for g in judged.values()} == {0, 1, 2, 3}
    # is_selected agrees with the official dev.small qrels for the 540 queries.
    official = {}
    for line in (msmarco_dir / "qrels.dev.small.tsv").read_text().splitlines():
        qid, _, pid, grade = line.split("\t")
        official.setdefault(qid, {})[pid] = int(grade)
    assert all(rerank.qrels[qid] == official[qid] for qid in rerank.qrels)


def test_task_errors_say_what_to_do(msmarco_dir, tmp_path):
    with pytest.raises(ValueError, match="choose from"):
        load_tasks(msmarco_dir, ["dev-retrieve"])
    with pytest.raises(ValueError, match="--data_dir"):
        load_tasks(tmp_path, ["dl19-pool"])


def test_bm25_reproduces_the_design_reference_figures(msmarco_dir):
    results = evaluate_system("bm25", load_tasks(msmarco_dir), throughput_passages=200)
    for key, reference in BM25_REFERENCE.items():
        assert results[key] == pytest.approx(reference, abs=0.005), key
    assert results["passages_per_s"] > 0


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


def test_glove_average_is_the_normalised_mean_of_known_words(glove, glove_tokenizer):
    from modeling.retrieval.baselines import GloveAverageEncoder

    encoder = GloveAverageEncoder(glove, glove_tokenizer)
    vectors = encoder.encode_passages(["The cat xqzvwk", "", "the"])
    row = {word: i for i, word in enumerate(glove.words)}
    mean = (glove.vectors[row["the"]] + glove.vectors[row["cat"]]) / 2  # unknown word ignored
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


def test_format_table_has_one_row_per_system():
    table = format_table(
        {"BM25": {"t/MRR@10": 0.38391, "passages_per_s": 12345.6}, "m": {"t/MRR@10": 0.2}}
    )
    lines = table.splitlines()
    assert lines[0] == "| system | t/MRR@10 | passages/s |"
    assert lines[2] == "| BM25 | 0.384 | 12,346 |" and lines[3] == "| m | 0.200 | – |"


@pytest.fixture(scope="module")
def mini_msmarco(msmarco_dir, tmp_path_factory) -> Path:
    """A small copy of the real data in the same layout: 12 dev600 queries, 3 DL19 queries."""
    out = tmp_path_factory.mktemp("msmarco")
    rows = (msmarco_dir / "dev600_bm25top20.jsonl").read_text(encoding="utf-8").splitlines()[:12]
    (out / "dev600_bm25top20.jsonl").write_text("\n".join(rows) + "\n", encoding="utf-8")
    needed = {str(pid) for row in rows for pid in json.loads(row)["passages"]["pid"]}
    lines = (msmarco_dir / "corpus.tsv").read_text(encoding="utf-8").splitlines(keepends=True)
    kept = [line for line in lines if line.split("\t", 1)[0] in needed] + lines[:100]
    (out / "corpus.tsv").write_text("".join(kept), encoding="utf-8")
    (out / "trec_dl19").mkdir()
    qrels = (msmarco_dir / "trec_dl19/qrels.txt").read_text().splitlines()
    qids = list(dict.fromkeys(line.split()[0] for line in qrels))[:3]
    qrels = [line for line in qrels if line.split()[0] in qids]
    (out / "trec_dl19/qrels.txt").write_text("\n".join(qrels) + "\n")
    pool = json.loads((msmarco_dir / "trec_dl19/candidates.json").read_text(encoding="utf-8"))
    judged = {line.split()[2] for line in qrels}
    passages = {
        pid: t for i, (pid, t) in enumerate(pool["passages"].items()) if pid in judged or i < 100
    }
    queries = {qid: pool["queries"][qid] for qid in qids}
    (out / "trec_dl19/candidates.json").write_text(
        json.dumps({"queries": queries, "passages": passages})
    )
    return out


def save_tiny_checkpoint(glove, path: Path) -> Path:
    """An untrained two-tower model over the 5,000 most frequent GloVe words; odd sizes."""
    from data_prep.glove import prune_vocabulary
    from modeling import TwoTowerModel, TwoTowerTokenizerFast

    vocab, _ = prune_vocabulary(glove, [], keep_top=5000)
    torch.manual_seed(0)
    model = TwoTowerModel.from_glove(
        torch.from_numpy(vocab.vectors), hidden_size=7, passage_max_length=64
    )
    model.save_pretrained(path)
    TwoTowerTokenizerFast.from_vocabulary(vocab.words).save_pretrained(path)
    return path


def test_evaluate_script_writes_json_and_prints_the_table(glove, mini_msmarco, tmp_path, capsys):
    script = load_script("evaluate")
    model = save_tiny_checkpoint(glove, tmp_path / "tiny")
    output = tmp_path / "results.json"
    returned = script.main(["--model", str(model), "--baselines", "bm25", "--data_dir",
                            str(mini_msmarco), "--output", str(output),
                            "--throughput_passages", "20", "--no_cache", "--hybrid"])  # fmt: skip
    written = json.loads(output.read_text())
    assert list(written) == list(returned) == ["tiny", "tiny + BM25 (RRF)", "BM25"]
    assert all(written[name] == pytest.approx(returned[name]) for name in written)
    for name, values in written.items():
        speed = set() if "RRF" in name else {"passages_per_s"}
        assert set(values) == {*BM25_REFERENCE, *speed}
        assert all(0.0 <= values[key] <= 1.0 for key in BM25_REFERENCE)
    # The untrained model ranks far below BM25; fused with it, it gains on every task.
    assert all(written["tiny + BM25 (RRF)"][k] > written["tiny"][k] for k in BM25_REFERENCE)
    table = capsys.readouterr().out
    assert "| tiny | " in table and "| BM25 | " in table and "dl19-pool/nDCG@10" in table
    with pytest.raises(ValueError, match="Unknown baseline"):
        script.main(["--baselines", "bm26", "--data_dir", str(mini_msmarco)])
    with pytest.raises(ValueError, match="Nothing to evaluate"):
        script.main(["--baselines", "none", "--data_dir", str(mini_msmarco)])


@pytest.mark.slow
def test_minilm_encodes_offline_normalised_and_caches(tmp_path):
    from modeling.retrieval.baselines import MiniLMEncoder

    encoder = MiniLMEncoder(device="cpu")
    vectors = EmbeddingCache(tmp_path).encode_passages(encoder, ["fleas live weeks", "blood"])
    assert vectors.shape == (2, 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    query = encoder.encode_queries(["how long do fleas live"])[0]
    assert query @ vectors[0] > query @ vectors[1] + 0.2
    assert len(list(tmp_path.rglob("*.npy"))) == 1
