"""Word-level tokenizer over a GloVe vocabulary, so that token ids are embedding rows.

GloVe 6B was trained on lowercased text split by the Stanford (PTB-style) tokenizer. We mirror
that with a lowercasing normalizer and a regex pre-tokenizer: contractions split as PTB does
(``don't`` -> ``do n't``, ``it's`` -> ``it 's``), numbers keep their inner ``.``/``,``, words keep
inner hyphens and dots (``e-mail``, ``u.s.``), every other symbol is a token of its own.
The saved ``tokenizer.json`` holds the whole pipeline, so ``AutoTokenizer.from_pretrained`` loads
it anywhere as a standard fast tokenizer, with no remote code (on purpose: a tokenizer ``auto_map``
would make every plain ``AutoTokenizer`` call demand ``trust_remote_code``).
With ``drop_stopwords`` a second split removes English function words, clitics and symbols
(NLTK's stopword list without the question words, which carry a query's intent): about half
the tokens of an MS MARCO passage, as BM25 and sentence-transformers' ``WhitespaceTokenizer`` do.
Deliberately left out: PTB's quote rewriting (``"`` -> ``` `` ```) and bracket names (``-lrb-``);
GloVe has the plain symbols too, so they cost nothing.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from tokenizers import Regex, Tokenizer, models, normalizers, pre_tokenizers
from transformers import PreTrainedTokenizerFast

from .configuration_two_tower import PASSAGE_MAX_LENGTH, QUERY_MAX_LENGTH

PAD_TOKEN = "<pad>"
UNK_TOKEN = "<unk>"

# Alternatives are tried left to right at each position; the matches are the tokens.
GLOVE_TOKEN_PATTERN = (
    r"[\p{L}\p{N}]+(?=n't\b)"  # "do" of "don't", "ca" of "can't"
    r"|n't\b"
    r"|'(?:s|re|ve|ll|d|m)\b"  # clitics
    r"|(?:\p{L}\.){2,}"  # abbreviations: "u.s.", "e.g."
    r"|\p{N}+(?:[.,:]\p{N}+)*"  # 3.5, 1,000, 10:30
    r"|[\p{L}\p{N}]+(?:[-.&][\p{L}\p{N}]+)*"  # words, e-mail, at&t, www.site.com
    r"|[^\s\p{L}\p{N}]"  # any other symbol alone
)

# NLTK's English stopwords, as this tokenizer splits them (clitics apart), less the question words
# (what, which, who, whom, when, where, why, how).
_STOPWORD_TEXT = (
    "i me my myself we our ours ourselves you your yours yourself yourselves he him his himself "
    "she her hers herself it its itself they them their theirs themselves this that these those "
    "am is are was were be been being have has had having do does did doing a an the and but if "
    "or because as until while of at by for with about against between into through during "
    "before after above below to from up down in out on off over under again further then once "
    "here there all any both each few more most other some such no nor not only own same so "
    "than too very s t can will just don should now d ll m o re ve y ain aren couldn didn doesn "
    "hadn hasn haven isn ma mightn mustn needn shan shouldn wasn weren won wouldn "
    "'s 're 've 'll 'd 'm n't"
)
STOPWORDS = tuple(_STOPWORD_TEXT.split())


def trie_pattern(words: list[str] | tuple[str, ...]) -> str:
    """A regex matching exactly ``words``, as a prefix tree (``a(?:n(?:d)?)?``...): the regex
    engine then tests one branch per character instead of every word."""
    tree: dict = {}
    for word in words:
        node = tree
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}  # a word ends here

    def branch(node: dict) -> str:
        alternatives = [
            re.escape(char) + branch(child) for char, child in sorted(node.items()) if char
        ]
        if not alternatives:
            return ""
        ends_here = "" in node
        if len(alternatives) == 1 and not ends_here:
            return alternatives[0]
        return "(?:" + "|".join(alternatives) + ")" + ("?" if ends_here else "")

    return branch(tree)


# A token matching this whole is dropped: a stopword, or symbols only.
DROPPED_TOKEN_PATTERN = r"^(?:" + trie_pattern(STOPWORDS) + r"|[^\p{L}\p{N}]+)$"


def build_backend(vocab: dict[str, int], drop_stopwords: bool = False) -> Tokenizer:
    """A `tokenizers` WordLevel model over ``vocab`` with the GloVe normalizer and pre-tokenizer.

    Args:
        vocab: word -> id (the embedding row); must hold ``<pad>`` and ``<unk>``.
        drop_stopwords: Also drop `STOPWORDS` and symbol-only tokens (punctuation).
    """
    if UNK_TOKEN not in vocab or PAD_TOKEN not in vocab:
        raise ValueError(f"The vocabulary must contain {PAD_TOKEN!r} and {UNK_TOKEN!r}.")
    backend = Tokenizer(models.WordLevel(vocab=vocab, unk_token=UNK_TOKEN))
    backend.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()])
    words = pre_tokenizers.Split(Regex(GLOVE_TOKEN_PATTERN), behavior="removed", invert=True)
    if drop_stopwords:
        dropped = pre_tokenizers.Split(Regex(DROPPED_TOKEN_PATTERN), behavior="removed")
        words = pre_tokenizers.Sequence([words, dropped])
    backend.pre_tokenizer = words
    return backend


class TwoTowerTokenizerFast(PreTrainedTokenizerFast):
    """Fast word-level GloVe tokenizer with separate maximum lengths for the two towers.

    Args:
        query_max_length: Truncation length for queries (the config's default).
        passage_max_length: Truncation length for passages (the config's default).
    """

    vocab_files_names = {"tokenizer_file": "tokenizer.json"}
    model_input_names = ["input_ids", "attention_mask"]

    def __init__(
        self,
        tokenizer_object: Tokenizer | None = None,
        tokenizer_file: str | None = None,
        query_max_length: int = QUERY_MAX_LENGTH,
        passage_max_length: int = PASSAGE_MAX_LENGTH,
        **kwargs,
    ):
        kwargs.setdefault("pad_token", PAD_TOKEN)
        kwargs.setdefault("unk_token", UNK_TOKEN)
        kwargs.setdefault("model_max_length", max(query_max_length, passage_max_length))
        super().__init__(
            tokenizer_object=tokenizer_object,
            tokenizer_file=tokenizer_file,
            query_max_length=query_max_length,
            passage_max_length=passage_max_length,
            **kwargs,
        )
        self.query_max_length = query_max_length
        self.passage_max_length = passage_max_length

    @classmethod
    def convert_to_native_format(cls, trust_remote_code=False, **kwargs):
        # Load tokenizer.json as saved. Without this, transformers rebuilds the backend of a class
        # with its own __init__ from the extracted vocab (as BPE), losing the WordLevel model.
        return super().convert_to_native_format(trust_remote_code=True, **kwargs)

    @classmethod
    def from_vocabulary(
        cls, words: list[str], drop_stopwords: bool = False, **kwargs
    ) -> TwoTowerTokenizerFast:
        """Builds the tokenizer so that ``words[i]`` gets id ``i`` (the embedding row).

        ``drop_stopwords`` is kept in ``tokenizer.json`` itself, so a saved tokenizer behaves
        the same wherever it is loaded.
        """
        vocab = {word: i for i, word in enumerate(words)}
        if len(vocab) != len(words):
            raise ValueError("The vocabulary has duplicate words; ids would not match rows.")
        return cls(tokenizer_object=build_backend(vocab, drop_stopwords), **kwargs)

    def save_pretrained(self, save_directory, *args, **kwargs):
        """Saves as usual, plus this file: the checkpoint carries its tokenizer's source."""
        saved = super().save_pretrained(save_directory, *args, **kwargs)
        shutil.copy(__file__, Path(save_directory) / Path(__file__).name)
        return saved

    def words(self, text: str) -> list[str]:
        """The normalised words of ``text`` before vocabulary lookup (for OOV statistics)."""
        backend = self.backend_tokenizer
        normalised = backend.normalizer.normalize_str(text)
        return [word for word, _ in backend.pre_tokenizer.pre_tokenize_str(normalised)]

    def encode_queries(self, texts: list[str], **kwargs):
        """Tokenizes queries: padded, truncated to ``query_max_length``, as PyTorch tensors."""
        return self._encode_side(texts, self.query_max_length, **kwargs)

    def encode_passages(self, texts: list[str], **kwargs):
        """Tokenizes passages: padded, truncated to ``passage_max_length``, as PyTorch tensors."""
        return self._encode_side(texts, self.passage_max_length, **kwargs)

    def _encode_side(self, texts: list[str], max_length: int, **kwargs):
        if isinstance(texts, str):
            raise ValueError("Pass a list of strings, not a single string.")
        kwargs.setdefault("return_tensors", "pt")
        return self(list(texts), padding=True, truncation=True, max_length=max_length, **kwargs)
