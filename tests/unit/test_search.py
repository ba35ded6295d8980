"""Search: chunked exact search, corpus streaming, index save/load, model checks, the script; on a
13-word vocabulary (2 processes over real passages: tests/integration/test_search_launch.py)."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import numpy as np
import pytest
from script_loader import load_script
from tiny import save_tiny_checkpoint, write_tiny_corpus

from data_prep.glove import GloveVocabulary
from modeling.retrieval.corpus import iter_corpus
from modeling.retrieval.index import SearchIndex, build_index, search
from modeling.retrieval.search import exact_search, faiss_search, split_lexical


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory):
    return save_tiny_checkpoint(tmp_path_factory.mktemp("tiny_model"))


@pytest.fixture(scope="module")
def tiny_lexical_model_dir(tmp_path_factory):
    """The tiny model with a 97-bucket lexical part."""
    return save_tiny_checkpoint(tmp_path_factory.mktemp("tiny_lexical"), lexical_buckets=97)


@pytest.fixture(scope="module")
def small_corpus(tmp_path_factory) -> Path:
    """120 passages of the tiny vocabulary's words, some with unknown words."""
    return write_tiny_corpus(tmp_path_factory.mktemp("corpus") / "corpus.tsv", count=120)


def brute_force(queries, passages, k):
    scores = queries @ passages.T
    rows = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(scores, rows, axis=1), rows


def test_chunked_search_equals_unchunked(tmp_path):
    rng = np.random.default_rng(0)
    passages = rng.standard_normal((1009, 13)).astype(np.float32)
    queries = rng.standard_normal((17, 13)).astype(np.float32)
    np.save(tmp_path / "p.npy", passages)
    on_disk = np.load(tmp_path / "p.npy", mmap_mode="r")
    expected_scores, expected_rows = brute_force(queries, passages, 25)
    for chunk_size in (10, 97, 1009, 5000):
        for corpus in (passages, on_disk):
            scores, rows = exact_search(queries, corpus, k=25, chunk_size=chunk_size)
            np.testing.assert_array_equal(rows, expected_rows)
            np.testing.assert_allclose(scores, expected_scores, rtol=1e-5, atol=1e-5)


def test_sparse_lexical_part_scores_as_the_full_vectors():
    rng = np.random.default_rng(1)
    full = rng.standard_normal((503, 11 + 40)).astype(np.float32)
    full[:, 11:] *= rng.random((503, 40)) < 0.1  # a sparse bag of words after 11 dense columns
    queries = rng.standard_normal((9, 51)).astype(np.float32)
    queries[:, 11:] *= rng.random((9, 40)) < 0.1
    dense, lexical = split_lexical(full, 40)
    assert dense.shape == (503, 11) and lexical.nnz == np.count_nonzero(full[:, 11:])
    expected_scores, expected_rows = brute_force(queries, full, 20)
    for chunk_size in (7, 100, 503):
        scores, rows = exact_search(queries, dense, k=20, chunk_size=chunk_size, lexical=lexical)
        np.testing.assert_array_equal(rows, expected_rows)
        np.testing.assert_allclose(scores, expected_scores, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="same width"):
        exact_search(queries[:, :50], dense, k=3, lexical=lexical)


def test_search_ties_keep_the_lower_row_and_k_is_capped():
    v, w = np.eye(3, dtype=np.float32)[:2]
    passages = np.stack([w, v, w, v, v])
    for chunk_size in (1, 2, 5):
        scores, rows = exact_search(v[None], passages, k=3, chunk_size=chunk_size)
        assert rows.tolist() == [[1, 3, 4]] and scores.tolist() == [[1.0, 1.0, 1.0]]
    assert exact_search(v[None], passages, k=50)[1].shape == (1, 5)
    with pytest.raises(ValueError, match="same width"):
        exact_search(np.ones((1, 4), np.float32), passages, k=1)


def test_faiss_backend_equals_exact_search():
    pytest.importorskip("faiss")
    rng = np.random.default_rng(1)
    passages = rng.standard_normal((500, 16)).astype(np.float32)
    queries = rng.standard_normal((9, 16)).astype(np.float32)
    scores, rows, _ = faiss_search(queries, passages, k=10, chunk_size=77)
    expected_scores, expected_rows = brute_force(queries, passages, 10)
    np.testing.assert_array_equal(rows, expected_rows)
    np.testing.assert_allclose(scores, expected_scores, rtol=1e-4, atol=1e-4)


def test_corpus_streams_from_tsv_jsonl_and_parquet(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    ids, texts = [f"p{i}" for i in range(7)], [f"passage {i}\twith a tab" for i in range(7)]
    (tmp_path / "c.tsv").write_text("".join(f"{i}\t{t}\n" for i, t in zip(ids, texts, strict=True)))
    rows = [json.dumps({"id": i, "text": t}) for i, t in zip(ids, texts, strict=True)]
    (tmp_path / "c.jsonl").write_text("\n".join(rows) + "\n")
    pq.write_table(pa.table({"pid": ids, "passage": texts}), tmp_path / "c.parquet")
    for name in ("c.tsv", "c.jsonl", "c.parquet"):
        chunks = list(iter_corpus(tmp_path / name, chunk_size=3))
        assert [len(chunk_ids) for chunk_ids, _ in chunks] == [3, 3, 1], name
        assert [pid for chunk_ids, _ in chunks for pid in chunk_ids] == ids
        assert [text for _, chunk_texts in chunks for text in chunk_texts] == texts
    (tmp_path / "bad.jsonl").write_text('{"title": "x"}\n')
    with pytest.raises(ValueError, match="no field among"):
        list(iter_corpus(tmp_path / "bad.jsonl"))
    (tmp_path / "c.csv").write_text("p0,passage\n")
    with pytest.raises(ValueError, match="unknown corpus format"):
        list(iter_corpus(tmp_path / "c.csv"))


@pytest.mark.parametrize("lexical", [False, True])
def test_index_save_load_round_trip(
    tiny_model_dir, tiny_lexical_model_dir, small_corpus, tmp_path, lexical
):
    from modeling.retrieval.encoders import TwoTowerEncoder

    model_dir = tiny_lexical_model_dir if lexical else tiny_model_dir
    encoder = TwoTowerEncoder(model_dir, batch_size=32)
    build_index(encoder, small_corpus, tmp_path / "index", chunk_size=32, progress_bar=False)
    index = SearchIndex(tmp_path / "index")
    ids, texts = next(iter_corpus(small_corpus, chunk_size=10_000))
    assert index.ids == ids and len(index) == 120
    assert index.model_reference == str(Path(model_dir).resolve())
    assert index.meta["chunks"] == 4 and not (tmp_path / "index" / "_parts").exists()
    assert index.text(0) == texts[0] and index.text(119) == texts[119]
    vectors = encoder.encode_passages(texts)
    stored = np.asarray(index.embeddings)
    if lexical:  # the pooled part dense, the bag of words sparse: together the same vectors
        assert index.embeddings.shape == (120, 14) and index.meta["dim"] == 14 + 97
        assert index.lexical.nnz == np.count_nonzero(vectors[:, 14:]) > 120
        stored = np.hstack([stored, index.lexical.toarray()])
        with pytest.raises(ValueError, match="backend exact"):
            index.search(vectors[:1], backend="faiss")
    else:
        assert index.lexical is None and not (tmp_path / "index" / "lexical.npz").exists()
    np.testing.assert_allclose(stored, vectors, atol=1e-5)
    # Search through the loaded index = brute force over the same vectors.
    hits = search(index, encoder, [texts[5], "what is the longest word"], k=4)
    query_vectors = encoder.encode_queries([texts[5], "what is the longest word"])
    expected_scores, expected_rows = brute_force(query_vectors, stored, 4)
    for query_hits, scores, rows in zip(hits, expected_scores, expected_rows, strict=True):
        assert [hit.pid for hit in query_hits] == [ids[row] for row in rows]
        assert [hit.score for hit in query_hits] == pytest.approx(scores.tolist(), abs=1e-5)
        assert query_hits[0].text == texts[rows[0]]


def test_glove_average_index_finds_the_passage_sharing_the_query_words(tmp_path):
    from modeling.retrieval.baselines import GloveAverageEncoder

    # One-hot word vectors: a score is the overlap of the query's and the passage's words.
    words = ["the", "flea", "life", "concrete", "blood", "heart", "atrium", "<pad>", "<unk>"]
    vocab = GloveVocabulary(words, np.eye(len(words), 11, dtype=np.float32))
    corpus = tmp_path / "c.jsonl"
    passages = {"a": "The flea life cycle takes weeks.", "b": "Concrete floors cost money.",
                "c": "Blood enters the right atrium of the heart."}  # fmt: skip
    corpus.write_text(
        "".join(json.dumps({"pid": p, "text": t}) + "\n" for p, t in passages.items())
    )
    encoder = GloveAverageEncoder(vocab)
    build_index(encoder, corpus, tmp_path / "index", progress_bar=False)
    index = SearchIndex(tmp_path / "index")
    (hits,) = search(index, encoder, ["which heart chamber does blood enter"], k=3)
    assert hits[0].pid == "c" and hits[0].text == passages["c"]
    assert hits[0].score > hits[1].score >= hits[2].score


def test_mismatched_index_and_model_are_refused(tiny_vocab, tiny_model_dir, small_corpus, tmp_path):
    from modeling.retrieval.baselines import GloveAverageEncoder
    from modeling.retrieval.encoders import TwoTowerEncoder

    build_index(
        TwoTowerEncoder(tiny_model_dir), small_corpus, tmp_path / "index", progress_bar=False
    )
    index = SearchIndex(tmp_path / "index")
    other = TwoTowerEncoder(save_tiny_checkpoint(tmp_path / "other", seed=1))
    with pytest.raises(ValueError, match="was built with .*rebuild the index"):
        search(index, other, ["a query"])
    with pytest.raises(ValueError, match="14-dimensional .* 7-dimensional"):
        index.check_encoder(GloveAverageEncoder(tiny_vocab))
    with pytest.raises(ValueError, match="not an index"):
        SearchIndex(tmp_path)


def test_search_script_builds_and_answers_from_arguments_and_stdin(
    tiny_model_dir, small_corpus, tmp_path, capsys, monkeypatch
):
    script = load_script("search")
    index_dir = str(tmp_path / "index")
    script.main(["build", "--model", str(tiny_model_dir), "--corpus", str(small_corpus),
                 "--index_dir", index_dir, "--chunk_size", "100"])  # fmt: skip
    capsys.readouterr()
    script.main(["query", "--index_dir", index_dir, "--query", "flea blood", "--top_k", "3",
                 "--format", "jsonl"])  # fmt: skip
    (line,) = capsys.readouterr().out.strip().splitlines()
    result = json.loads(line)
    assert result["query"] == "flea blood" and len(result["hits"]) == 3
    monkeypatch.setattr(sys, "stdin", io.StringIO("cat mat\n\ndog heart\n"))
    script.main(["query", "--index_dir", index_dir, "--top_k", "2"])
    out = capsys.readouterr().out
    assert "# cat mat" in out and "# dog heart" in out
    assert len([row for row in out.splitlines() if row.startswith("  1  ")]) == 2
