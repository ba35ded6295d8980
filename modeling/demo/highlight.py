"""Passages as HTML, each word shaded by the term weight the two-tower model gave it.

The shading is the model's lexical part made visible: `TwoTowerModel.term_weights` gives every
token of a text a weight, and a query and a passage sharing a word add the product of its two
weights to their score. Words of the query are underlined in the passages as the model matches
them (by stem with ``lexical_stems``, unknown words as written with ``hash_unknown_words``). Only
the words the tokenizer kept are shaded (stopwords and punctuation are dropped before the model
sees them).
Deliberately left out: hash collisions of the lexical bag (two different words in one bucket
also add to the score but are not marked) and the dense part's contribution, which no single
word owns.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass

from modeling.tokenization_two_tower import tokenize

SHADE_RGB = "255, 170, 0"  # the weight's colour; its opacity is the weight over the page's largest


@dataclass
class WeightedText:
    """A text and its tokens: character spans, the ids the lexical part matches them by
    (`TwoTowerModel.lexical_word_ids`) and term weights (same order)."""

    text: str
    spans: list[tuple[int, int]]
    token_ids: list[int]
    weights: list[float]


def weigh_texts(model, tokenizer, texts: Sequence[str], side: str) -> list[WeightedText]:
    """Tokenises ``texts`` as encoding does and reads each token's term weight.

    Args:
        model: A `TwoTowerModel` with a lexical part (``lexical_buckets > 0``).
        tokenizer: Its `TwoTowerTokenizerFast`.
        texts: Queries or passages.
        side: ``"query"`` or ``"passage"``: whose tower, and which maximum length.
    """
    if isinstance(texts, str):
        raise ValueError("Pass a list of strings, not a single string.")
    texts = list(texts)
    if not texts:
        return []
    max_length = tokenizer.query_max_length if side == "query" else tokenizer.passage_max_length
    batch = tokenize(  # unknown words hashed as encoding hashes them
        tokenizer, texts, model.config.hash_unknown_words, padding=True, truncation=True,
        max_length=max_length, return_offsets_mapping=True,
    ).convert_to_tensors("pt")  # fmt: skip
    device = model.device
    weights = model.term_weights(
        batch["input_ids"].to(device), batch["attention_mask"].to(device), side=side
    ).cpu()
    matched_by = model.lexical_word_ids(batch["input_ids"].to(device)).cpu()
    out = []
    for row, text in enumerate(texts):
        real = batch["attention_mask"][row].bool()
        out.append(
            WeightedText(
                text=text,
                spans=[tuple(span) for span in batch["offset_mapping"][row][real].tolist()],
                token_ids=matched_by[row][real].tolist(),
                weights=weights[row][real].tolist(),
            )
        )
    return out


def text_html(weighted: WeightedText, scale: float, query_ids: set[int]) -> str:
    """One text as HTML: each token a ``<span class="tw">`` shaded by ``weight / scale``.

    Tokens whose id is in ``query_ids`` (and that have a weight) also get the class ``match``.
    """
    parts, cursor = [], 0
    for (start, end), token_id, weight in zip(
        weighted.spans, weighted.token_ids, weighted.weights, strict=True
    ):
        if start < cursor:
            continue  # overlapping offsets: never from this tokenizer, but never print twice
        parts.append(html.escape(weighted.text[cursor:start]))
        opacity = min(1.0, weight / scale) if scale > 0 else 0.0
        matched = token_id in query_ids and weight > 0
        style = f"background: rgba({SHADE_RGB}, {opacity:.2f})"
        if matched:
            style += "; border-bottom: 2px solid #b00020; font-weight: 600"
        parts.append(
            f'<span class="tw{" match" if matched else ""}" data-weight="{weight:.3f}" '
            f'style="{style}" title="term weight {weight:.3f}">'
            f"{html.escape(weighted.text[start:end])}</span>"
        )
        cursor = end
    parts.append(html.escape(weighted.text[cursor:]))
    return "".join(parts)


def hits_html(
    title: str,
    hits: Sequence[tuple[str, float, WeightedText]],
    query: WeightedText,
    scale: float,
) -> str:
    """A ranked list: ``<div class="hit" data-rank data-pid data-score>`` per (pid, score, text)."""
    query_ids = {token_id for token_id, w in zip(query.token_ids, query.weights, strict=True) if w}
    rows = [f'<div class="results"><h3>{html.escape(title)}</h3>']
    for rank, (pid, score, weighted) in enumerate(hits, start=1):
        rows.append(
            f'<div class="hit" data-rank="{rank}" data-pid="{html.escape(pid)}" '
            f'data-score="{score:.6f}" style="margin-bottom: 0.8em">'
            f"<b>{rank}.</b> <code>{html.escape(pid)}</code> "
            f"<small>score {score:.4f}</small><br>{text_html(weighted, scale, query_ids)}</div>"
        )
    rows.append("</div>")
    return "\n".join(rows)


def largest_weight(texts: Sequence[WeightedText]) -> float:
    """The page's shading scale: the largest term weight among ``texts`` (0 when none)."""
    return max((max(t.weights, default=0.0) for t in texts), default=0.0)


def query_html(query: WeightedText) -> str:
    """The query's own words shaded by their query-side term weights."""
    scale = largest_weight([query])
    words = ", ".join(
        f"{html.escape(query.text[start:end])} {weight:.2f}"
        for (start, end), weight in zip(query.spans, query.weights, strict=True)
    )
    return (
        f'<div class="query">Query, shaded by its term weights: '
        f"{text_html(query, scale, set(query.token_ids))}"
        f"<br><small>{words or 'no known word'}</small></div>"
    )
