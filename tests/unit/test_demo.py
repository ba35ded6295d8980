"""The demo: shaded HTML, and the Gradio page (driven in-process by gradio_client) returning
what scripts/search.py returns for the same index and query, next to BM25's ranking."""

from __future__ import annotations

import html
import json
import re

import pytest
from script_loader import load_script
from tiny_two_tower import tiny, tiny_index

from modeling.demo.highlight import WeightedText, text_html, weigh_texts


def strip_tags(markup: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", markup))


def test_text_html_keeps_the_text_and_marks_query_words():
    text = "Fleas <jump> & bite"
    weighted = WeightedText(text, [(0, 5), (7, 11), (15, 19)], [0, 1, 5], [0.5, 2.0, 0.0])
    markup = text_html(weighted, scale=2.0, query_ids={0, 5})
    assert strip_tags(markup) == text  # every character once, escaped
    assert "<jump>" not in markup
    spans = re.findall(r'<span class="([^"]+)" data-weight="([^"]+)" style="([^"]+)"', markup)
    assert [s[0] for s in spans] == ["tw match", "tw", "tw"]  # "bite": query word, weight 0
    assert [float(s[1]) for s in spans] == [0.5, 2.0, 0.0]
    assert "rgba(255, 170, 0, 0.25)" in spans[0][2] and "0.00)" in spans[2][2]


def test_weigh_texts_reads_the_model_weights_at_the_words():
    model, tokenizer = tiny()
    (weighted,) = weigh_texts(model, tokenizer, ["Fleas, the dogs!"], side="passage")
    assert [weighted.text[a:b] for a, b in weighted.spans] == ["Fleas", ",", "the", "dogs", "!"]
    batch = tokenizer(["Fleas, the dogs!"], return_tensors="pt")
    expected = model.term_weights(batch["input_ids"], batch["attention_mask"], side="passage")
    assert weighted.weights == pytest.approx(expected[0].tolist())
    assert weighted.token_ids == batch["input_ids"][0].tolist()


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory):
    return tiny_index(tmp_path_factory.mktemp("demo"))


def ranked(markup: str) -> list[tuple[str, float]]:
    pattern = r'data-pid="([^"]+)" data-score="([^"]+)"'
    return [(pid, float(score)) for pid, score in re.findall(pattern, markup)]


def test_page_answers_as_search_script_does(index_dir, capsys):
    from gradio_client import Client

    from modeling.demo.app import DemoSearcher, build_app

    searcher = DemoSearcher(index_dir, top_k=10)
    app = build_app(searcher)
    app.launch(prevent_thread_lock=True, quiet=True)
    try:
        client = Client(app.local_url, verbose=False)
        query = "do fleas bite dogs"
        weighted_query, ours, bm25 = client.predict(query, api_name="/search")
    finally:
        app.close()

    load_script("search").main(
        ["query", "--index_dir", str(index_dir), "--query", query, "--format", "jsonl"]
    )
    expected = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["hits"]
    assert [pid for pid, _ in ranked(ours)] == [hit["pid"] for hit in expected]
    assert [s for _, s in ranked(ours)] == pytest.approx([h["score"] for h in expected], abs=1e-5)
    assert len(ranked(ours)) == 10

    # BM25's list: its own ranking of the same passages (stemmed: "fleas" matches "Flea").
    bm25_ranked = ranked(bm25)
    scores = searcher.bm25.scores(searcher.bm25.tokenize_queries([query])[0])
    assert [s for _, s in bm25_ranked] == pytest.approx(sorted(scores)[::-1][:10], abs=1e-5)
    for pid, score in bm25_ranked:  # ties may come in any order, but each pid has its score
        assert scores[int(pid[1:])] == pytest.approx(score, abs=1e-5)
    assert bm25_ranked[0][0] == "p0"  # fleas twice, bite and dogs: BM25's clear first

    # Query words are marked in both lists; "Nothing known here." has none.
    for markup in (ours, bm25):
        marked = re.findall(r'<span class="tw match"[^>]*>([^<]+)</span>', markup)
        assert marked and {word.lower() for word in marked} <= {"fleas", "bite", "dogs"}
    assert "fleas" in strip_tags(weighted_query).lower()


def test_index_without_lexical_model_or_texts_is_refused(tmp_path):
    from modeling.demo.app import DemoSearcher

    with pytest.raises(ValueError, match="no lexical part"):
        DemoSearcher(tiny_index(tmp_path / "plain", lexical_buckets=0))
    with pytest.raises(ValueError, match="no passage texts"):
        DemoSearcher(tiny_index(tmp_path / "no_texts", store_texts=False))
