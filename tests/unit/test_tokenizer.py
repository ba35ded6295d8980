"""The GloVe tokenizer: PTB-like splitting, ids equal to embedding rows, per-tower lengths."""

import re

import pytest
from transformers import AutoTokenizer

from modeling import TwoTowerTokenizerFast
from modeling.tokenization_two_tower import STOPWORDS, trie_pattern

WORDS = ["the", "do", "n't", "'s", "u.s.", "e-mail", "3.5", "%", ",", "?", "it", "<pad>", "<unk>"]


@pytest.fixture
def tok():
    return TwoTowerTokenizerFast.from_vocabulary(WORDS, query_max_length=3, passage_max_length=5)


def test_ids_are_vocabulary_rows(tok):
    assert tok.convert_tokens_to_ids(WORDS) == list(range(len(WORDS)))
    assert (tok.pad_token_id, tok.unk_token_id) == (11, 12)


def test_glove_style_splitting_and_lowercasing():
    tok = TwoTowerTokenizerFast.from_vocabulary(["<pad>", "<unk>"])
    assert tok.words("Don't it's U.S. e-mail: 3.5% 1,000 café") == [
        "do", "n't", "it", "'s", "u.s.", "e-mail", ":", "3.5", "%", "1,000", "café",
    ]  # fmt: skip


def test_oov_words_map_to_unk(tok):
    ids = tok("the zyzzyva IT")["input_ids"]
    assert ids == [0, tok.unk_token_id, 10]


def test_per_tower_truncation_and_padding(tok):
    text = "the the the the the the the"
    q = tok.encode_queries([text, "it"])
    p = tok.encode_passages([text])
    assert q["input_ids"].shape == (2, 3) and p["input_ids"].shape == (1, 5)
    assert q["input_ids"][1].tolist() == [10, 11, 11]  # padded with <pad>
    assert q["attention_mask"][1].tolist() == [1, 0, 0]


def test_single_string_is_rejected(tok):
    with pytest.raises(ValueError, match="list of strings"):
        tok.encode_queries("the")


def test_save_and_auto_reload_round_trip(tok, tmp_path):
    tok.save_pretrained(tmp_path)
    again = AutoTokenizer.from_pretrained(tmp_path)
    text = ["Don't e-mail the U.S., it's 3.5%?", "unknownword"]
    assert again(text)["input_ids"] == tok(text)["input_ids"]
    assert again.pad_token_id == tok.pad_token_id and again.unk_token_id == tok.unk_token_id
    again = TwoTowerTokenizerFast.from_pretrained(tmp_path)
    assert (again.query_max_length, again.passage_max_length) == (3, 5)


def test_drop_stopwords_keeps_content_and_question_words(tmp_path):
    tok = TwoTowerTokenizerFast.from_vocabulary(["<pad>", "<unk>"], drop_stopwords=True)
    text = "What's the U.S. rate, isn't it -- 3.5% of the a-team? Don't!"
    assert tok.words(text) == ["what", "u.s.", "rate", "3.5", "a-team"]
    # The same pipeline after a plain AutoTokenizer reload: it lives in tokenizer.json.
    tok.save_pretrained(tmp_path)
    assert AutoTokenizer.from_pretrained(tmp_path).backend_tokenizer.pre_tokenizer.pre_tokenize_str(
        "the cat, and a dog"
    ) == [("cat", (4, 7)), ("dog", (15, 18))]


def test_text_of_stopwords_only_encodes_as_empty():
    words = ["the", "it", "<pad>", "<unk>"]
    tok = TwoTowerTokenizerFast.from_vocabulary(words, drop_stopwords=True)
    batch = tok.encode_queries(["the it .", "it"])
    assert batch["attention_mask"].sum().item() == 0  # the model reads such texts as one <pad>


def test_trie_pattern_matches_exactly_its_words():
    words = ["a", "an", "and", "any", "the", "'s", "n't"]
    pattern = re.compile(f"^(?:{trie_pattern(words)})$")
    assert all(pattern.match(word) for word in words)
    others = ["", "am", "ands", "th", "them", "s", "'", "nt", "n't'", "An"]
    assert not any(pattern.match(word) for word in others)
    full = re.compile(f"^(?:{trie_pattern(STOPWORDS)})$")
    assert all(full.match(word) for word in STOPWORDS) and not full.match("what")
