"""BEIR-format tasks: a four-document folder written here, with metrics checkable by hand."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from script_loader import load_script

from modeling.evaluation.runner import dense_runs_by_part, evaluate_system, score_runs
from modeling.evaluation.tasks import (
    BEIR_PASSAGE_MAX_LENGTH,
    load_beir_tasks,
    with_passage_encoding,
)
from modeling.retrieval.encoders import DenseEncoder
from modeling.retrieval.windows import split_windows

CORPUS = [
    {"_id": "d1", "title": "Cats", "text": "cats purr loudly"},
    {"_id": "d2", "title": "Dogs", "text": "dogs bark"},
    {"_id": "d3", "title": "", "text": "many words here then fish swim"},  # fish: 5th word
    {"_id": "d4", "title": "Birds", "text": "birds sing"},
]
QUERIES = {"q1": "cats", "q2": "fish", "q3": "birds", "q4": "unjudged query"}


def write_beir(folder, splits=None, corpus=CORPUS, header="query-id\tcorpus-id\tscore"):
    (folder / "qrels").mkdir(parents=True)
    with open(folder / "corpus.jsonl", "w") as handle:
        handle.writelines(json.dumps({**doc, "metadata": {}}) + "\n" for doc in corpus)
    with open(folder / "queries.jsonl", "w") as handle:
        handle.writelines(json.dumps({"_id": q, "text": t}) + "\n" for q, t in QUERIES.items())
    splits = splits or {"train": [("q1", "d1", 1), ("q2", "d3", 1)], "test": [("q3", "d4", 1)]}
    for split, rows in splits.items():
        lines = [header] + ["\t".join(map(str, row)) for row in rows]
        (folder / "qrels" / f"{split}.tsv").write_text("\n".join(lines) + "\n")
    return folder


class FirstWordsEncoder(DenseEncoder):
    """One dimension per animal, read from the first ``limit`` words only (as a model that cuts
    long texts), so a word past the cut is invisible unless windows bring it forward."""

    name = "first-words"
    words = ("cats", "dogs", "fish", "birds")

    def __init__(self, limit: int = 3):
        self.limit = limit

    def encode_queries(self, texts, progress_bar=False):
        return self._encode(texts)

    def encode_passages(self, texts, progress_bar=False, max_length=None):
        return self._encode(texts, max_length or self.limit)  # max_length words, as tokens

    def _encode(self, texts, limit=None):
        words = [t.lower().split()[:limit] for t in texts]
        return np.array([[w in ws for w in self.words] for ws in words], np.float32)


class TwoPartEncoder(DenseEncoder):
    """Two pooled columns, then two lexical ones; fixed vectors so each part ranks differently."""

    name = "two-part"
    lexical_buckets = 2
    vectors = {
        "cats": [1, 0, 0, 1],
        "Cats cats purr loudly": [1, 0, 0, 0],  # pooled score 1, lexical 0
        "Dogs dogs bark": [0, 0, 0, 2],  # pooled 0, lexical 2: first by the whole score
    }

    def encode_queries(self, texts, progress_bar=False):
        return self._encode(texts)

    def encode_passages(self, texts, progress_bar=False, max_length=None):
        return self._encode(texts)

    def _encode(self, texts):
        return np.array([self.vectors.get(t, [0, 0, 0, 0]) for t in texts], np.float32)


def test_one_task_per_split_sharing_one_collection(tmp_path):
    tasks = load_beir_tasks(write_beir(tmp_path / "beir_tiny"))
    assert [task.name for task in tasks] == ["tiny-test", "tiny-train"]
    test, train = tasks
    assert test.collection is train.collection
    assert train.collection.texts[:3] == [
        "Cats cats purr loudly",
        "Dogs dogs bark",
        CORPUS[2]["text"],
    ]
    assert train.queries == {"q1": "cats", "q2": "fish"}  # the judged queries only
    assert train.qrels == {"q1": {"d1": 1}, "q2": {"d3": 1}}
    assert train.metrics == ("nDCG@10", "R@100") and train.candidates is None


def test_bm25_finds_each_judged_document_first(tmp_path):
    tasks = load_beir_tasks(write_beir(tmp_path / "beir_tiny"))
    results = evaluate_system("bm25", tasks, throughput_passages=0, progress_bar=False)
    assert results == {
        "tiny-test/nDCG@10": 1.0,
        "tiny-test/R@100": 1.0,
        "tiny-train/nDCG@10": 1.0,
        "tiny-train/R@100": 1.0,
    }


def test_windows_find_a_word_past_the_encoders_cut(tmp_path):
    (train,) = load_beir_tasks(
        write_beir(tmp_path / "beir_tiny", {"train": [("q1", "d1", 1), ("q2", "d3", 1)]})
    )
    assert (train.passage_max_length, train.passage_window) == (BEIR_PASSAGE_MAX_LENGTH, None)
    whole = with_passage_encoding([train], max_length=3)
    windowed = with_passage_encoding([train], max_length=3, window=(3, 2))
    # Whole documents: "fish" is d3's 5th word, past the cut of 3: every document scores 0 for
    # q2 and ties go to the larger id (d4, d3, ...): d3 ranks 2nd, nDCG = 1 / log2(3).
    scores = score_runs(dense_runs_by_part(FirstWordsEncoder(), whole, ("all",))["all"], whole)
    assert scores["tiny-train/nDCG@10"] == pytest.approx((1 + 1 / math.log2(3)) / 2)
    # Windows of 3 words every 2: d3's window "here then fish" matches, d3 ranks 1st.
    scores = score_runs(
        dense_runs_by_part(FirstWordsEncoder(), windowed, ("all",))["all"], windowed
    )
    assert scores["tiny-train/nDCG@10"] == pytest.approx(1.0)
    # A longer cut reaches it too.
    longer = with_passage_encoding([train], max_length=6)
    scores = score_runs(dense_runs_by_part(FirstWordsEncoder(), longer, ("all",))["all"], longer)
    assert scores["tiny-train/nDCG@10"] == pytest.approx(1.0)


def test_each_part_of_the_score_ranks_alone(tmp_path):
    folder = write_beir(tmp_path / "beir_tiny", {"train": [("q1", "d1", 1)]})
    tasks = with_passage_encoding(load_beir_tasks(folder), window=None)
    runs = dense_runs_by_part(TwoPartEncoder(), tasks, ("all", "pooled", "lexical"))
    ndcg = {part: score_runs(run, tasks)["tiny-train/nDCG@10"] for part, run in runs.items()}
    # whole: d2 (2) before d1 (1); pooled: d1 alone scores; lexical: d2 alone, d1 ties the rest
    # at 0 behind d4 and d3 (larger ids first) -> rank 4.
    assert ndcg == pytest.approx(
        {"all": 1 / math.log2(3), "pooled": 1.0, "lexical": 1 / math.log2(5)}
    )
    with pytest.raises(ValueError, match="no lexical part"):
        dense_runs_by_part(FirstWordsEncoder(), tasks, ("pooled",))


def test_windows_cover_every_word_in_order():
    windows, owners = split_windows(["a b c d e f", "short", ""], size=3, stride=2)
    assert windows == ["a b c", "c d e", "e f", "short", ""]
    assert owners.tolist() == [0, 0, 0, 1, 2]
    with pytest.raises(ValueError, match="stride"):
        split_windows(["a"], size=2, stride=3)


@pytest.mark.parametrize(
    ("splits", "header", "message"),
    [
        ({"train": [("q1", "d9", 1)]}, "query-id\tcorpus-id\tscore", "1 documents missing"),
        ({"train": [("q9", "d1", 1)]}, "query-id\tcorpus-id\tscore", "1 queries missing"),
        ({"train": [("q1", "d1", 1)]}, "q1\td1\t1", "header line"),
    ],
)
def test_inconsistent_folders_say_what_is_wrong(tmp_path, splits, header, message):
    folder = write_beir(tmp_path / "beir_bad", splits, header=header)
    with pytest.raises(ValueError, match=message):
        load_beir_tasks(folder)


def test_a_folder_without_corpus_or_qrels_is_refused(tmp_path):
    with pytest.raises(ValueError, match="corpus.jsonl is missing"):
        load_beir_tasks(tmp_path)
    folder = write_beir(tmp_path / "beir_empty", {})
    for path in (folder / "qrels").iterdir():
        path.unlink()
    with pytest.raises(ValueError, match="no <split>.tsv"):
        load_beir_tasks(folder)


def test_the_window_option_parses_or_says_how():
    parse_window = load_script("evaluate").parse_window
    assert parse_window("64:32") == (64, 32)
    assert parse_window("100") == (100, 50)
    assert parse_window("none") is None
    assert parse_window(None) == "keep"
    for bad in ("abc", "10:20", "0"):
        with pytest.raises(ValueError, match="--passage_window"):
            parse_window(bad)
