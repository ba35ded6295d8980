"""A two-tower model over 11 words with a lexical part, and a 12-passage index built with it:
small enough for unit tests, real enough to serve (odd sizes so shape bugs show)."""

from __future__ import annotations

from pathlib import Path

import torch

WORDS = ["fleas", "jump", "high", "dogs", "cats", "bite", "eggs", "hatch", "in", "days", "what"]
PASSAGES = [
    "Fleas jump high, and fleas bite dogs.",
    "Cats bite & dogs <jump>.",
    "Flea eggs hatch in days.",
    "What dogs eat in days of rain.",
    "High cats, high dogs.",
    "Eggs hatch; fleas jump in days.",
    "Dogs bite cats what.",
    "Nothing known here.",
    "Cats jump high in days.",
    "Fleas, fleas, fleas.",
    "Dogs eggs cats bite.",
    "What hatch high.",
]


def tiny(lexical_buckets: int = 5, seed: int = 0):
    """(model, tokenizer): 11 words + <pad> + <unk>, dimension 6, hidden size 7; 5 buckets make
    words collide. The term-weight scorers are drawn at random (untrained ones are all zero)."""
    from modeling import TwoTowerModel, TwoTowerTokenizerFast

    torch.manual_seed(seed)
    vectors = torch.randn(len(WORDS) + 2, 6)
    model = TwoTowerModel.from_glove(
        vectors, hidden_size=7, lexical_buckets=lexical_buckets, bidirectional=True
    )
    if lexical_buckets:
        for tower in (model.query_tower, model.passage_tower):
            torch.nn.init.normal_(tower.lexical.scorer)
    model.eval()
    tokenizer = TwoTowerTokenizerFast.from_vocabulary([*WORDS, "<pad>", "<unk>"])
    return model, tokenizer


def tiny_index(root: Path, lexical_buckets: int = 5, store_texts: bool = True) -> Path:
    """Saves `tiny` in ``root/model``, indexes `PASSAGES` (ids p0..p11) into ``root/index``."""
    from modeling.retrieval.encoders import TwoTowerEncoder
    from modeling.retrieval.index import build_index

    model, tokenizer = tiny(lexical_buckets)
    model.save_pretrained(root / "model")
    tokenizer.save_pretrained(root / "model")
    corpus = root / "corpus.tsv"
    corpus.write_text("".join(f"p{i}\t{text}\n" for i, text in enumerate(PASSAGES)))
    encoder = TwoTowerEncoder(root / "model")
    return build_index(encoder, corpus, root / "index", store_texts=store_texts, progress_bar=False)
