"""BM25-mined negatives on real MS MARCO text: hardest non-positives, never the query's answer."""

import pytest

from data_prep.hard_negatives import mine_bm25_negatives
from data_prep.msmarco import load_msmarco
from modeling.evaluation.tasks import read_tsv_collection


@pytest.fixture(scope="module")
def small_corpus_and_table(msmarco_dir):
    table = load_msmarco(msmarco_dir / "train_pairs.jsonl").slice(0, 40)
    corpus = read_tsv_collection(msmarco_dir / "corpus.tsv").texts[:3000]
    positives = [p for ps in table.column("positives").to_pylist() for p in ps]
    return table, corpus + positives  # the answers are in the corpus, as in corpus.tsv


def test_negatives_exclude_positives_and_are_ranked(small_corpus_and_table):
    from modeling.retrieval.bm25 import BM25Retriever

    table, corpus = small_corpus_and_table
    mined = mine_bm25_negatives(table, corpus, depth=12, keep=5)
    rows = mined.to_pylist()
    assert mined.schema == table.schema and len(rows) == table.num_rows
    bm25 = BM25Retriever().index(corpus)
    top_is_answer = 0
    all_hits, _ = bm25.retrieve([row["query"] for row in rows], 12)
    for row, hits in zip(rows, all_hits, strict=True):
        assert len(row["negatives"]) == 5
        assert not set(row["negatives"]) & set(row["positives"])
        assert all(text in corpus for text in row["negatives"])
        ranked = [corpus[i] for i in hits if corpus[i] not in row["positives"]]
        assert row["negatives"] == ranked[:5]  # BM25 order, hardest first
        top_is_answer += corpus[hits[0]] in row["positives"]
    assert top_is_answer >= len(rows) // 2  # the answer tops BM25 often: excluding it matters


def test_skip_drops_the_top_hits(small_corpus_and_table):
    table, corpus = small_corpus_and_table
    table = table.slice(0, 5)
    full = mine_bm25_negatives(table, corpus, depth=10, keep=4).column("negatives").to_pylist()
    skipped = mine_bm25_negatives(table, corpus, depth=10, keep=3, skip=1)
    assert skipped.column("negatives").to_pylist() == [n[1:4] for n in full]
    with pytest.raises(ValueError, match="depth"):
        mine_bm25_negatives(table, corpus, depth=3, keep=3, skip=1)
