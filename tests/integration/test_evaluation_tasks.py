"""Evaluation on the real data: the three tasks' sizes, BM25 against DESIGN.md's figures,
scripts/evaluate.py on a small copy of the data, and the MiniLM baseline (slow)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from script_loader import load_script
from tiny import save_tiny_checkpoint

from data_prep.glove import prune_vocabulary
from modeling.evaluation.runner import evaluate_system
from modeling.evaluation.tasks import load_tasks
from modeling.retrieval.encoders import EmbeddingCache

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


def test_evaluate_script_writes_json_and_prints_the_table(glove, mini_msmarco, tmp_path, capsys):
    script = load_script("evaluate")
    vocab, _ = prune_vocabulary(glove, [], keep_top=5000)
    model = save_tiny_checkpoint(tmp_path / "tiny", vocab)
    output = tmp_path / "results.json"
    returned = script.main(["--model", str(model), "--baselines", "bm25", "--data_dir",
                            str(mini_msmarco), "--output", str(output),
                            "--throughput_passages", "20", "--no_cache", "--hybrid"])  # fmt: skip
    written = json.loads(output.read_text())
    assert list(written) == list(returned) == ["tiny", "tiny + BM25 (z-score)", "BM25"]
    assert all(written[name] == pytest.approx(returned[name]) for name in written)
    for name, values in written.items():
        speed = set() if "+ BM25" in name else {"passages_per_s"}
        assert set(values) == {*BM25_REFERENCE, *speed}
        assert all(0.0 <= values[key] <= 1.0 for key in BM25_REFERENCE)
    # The untrained model ranks far below BM25; fused with it, it gains on every task.
    assert all(written["tiny + BM25 (z-score)"][k] > written["tiny"][k] for k in BM25_REFERENCE)
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
