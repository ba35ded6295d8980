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
`encode_ids` (what `TwoTowerModel.encode_*` tokenise with) gives the same ids as a tokenizer call,
faster: `ChunkEncoder` resolves each distinct space-separated chunk once, plain words without the
`tokenizers` pipeline; a tokenizer.json whose pipeline it does not know is tokenised as usual.
Deliberately left out: PTB's quote rewriting (``"`` -> ``` `` ```) and bracket names (``-lrb-``);
GloVe has the plain symbols too, so they cost nothing.
"""

from __future__ import annotations

import functools
import itertools
import re
import shutil
import zlib
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

# A model with ``hash_unknown_words`` gives a word outside the vocabulary one of this many ids
# past it: equal words share an id (a rare name, a gene, a product code), so the lexical part can
# match them, while the embedding reads <unk> for all of them.
UNKNOWN_WORD_IDS = 1 << 20


def unknown_word_id(word: str, vocab_size: int) -> int:
    """The id of ``word`` (normalised) when the vocabulary lacks it: ``vocab_size`` plus its
    CRC-32 modulo `UNKNOWN_WORD_IDS` (the same in every process, unlike ``hash``)."""
    return vocab_size + zlib.crc32(word.encode("utf-8")) % UNKNOWN_WORD_IDS


def hash_unknown_ids(tokenizer, texts: list[str], input_ids, offsets) -> list[list[int]]:
    """Token ids with each ``<unk>`` replaced by `unknown_word_id` of its word.

    Args:
        tokenizer: The fast tokenizer that gave the ids (its normalizer reads each word).
        texts: The tokenised texts.
        input_ids: Their ids, one list per text (padding allowed).
        offsets: Each token's ``(start, end)`` in its text (``return_offsets_mapping=True``).
    """
    unk, vocab_size = tokenizer.unk_token_id, len(tokenizer)
    normalize = tokenizer.backend_tokenizer.normalizer.normalize_str
    return [
        [
            unknown_word_id(normalize(text[start:end]), vocab_size) if token == unk else token
            for token, (start, end) in zip(row, spans, strict=True)
        ]
        for text, row, spans in zip(texts, input_ids, offsets, strict=True)
    ]


def tokenize(tokenizer, texts: list[str], hash_unknown_words: bool = False, **kwargs):
    """``tokenizer(texts, **kwargs)`` (lists, no tensors), unknown words' ids hashed by
    `hash_unknown_ids` when ``hash_unknown_words``: every tokenizer call of a model that hashes
    goes through here. Offsets are returned only when ``kwargs`` ask for them."""
    keep_offsets = kwargs.pop("return_offsets_mapping", False)
    offsets = keep_offsets or hash_unknown_words
    batch = tokenizer(texts, return_offsets_mapping=offsets, **kwargs)
    if hash_unknown_words:
        spans = batch["offset_mapping"]
        batch["input_ids"] = hash_unknown_ids(tokenizer, texts, batch["input_ids"], spans)
    if offsets and not keep_offsets:
        del batch["offset_mapping"]
    return batch


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
# The same set as a plain alternation: what tokenizer.json files saved before the prefix tree hold.
_LEGACY_DROPPED_TOKEN_PATTERN = r"^(?:" + "|".join(STOPWORDS) + r"|[^\p{L}\p{N}]+)$"


def _normalizer() -> normalizers.Normalizer:
    return normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()])


def _pre_tokenizer(dropped_pattern: str | None) -> pre_tokenizers.PreTokenizer:
    words = pre_tokenizers.Split(Regex(GLOVE_TOKEN_PATTERN), behavior="removed", invert=True)
    if dropped_pattern is None:
        return words
    dropped = pre_tokenizers.Split(Regex(dropped_pattern), behavior="removed")
    return pre_tokenizers.Sequence([words, dropped])


def build_backend(vocab: dict[str, int], drop_stopwords: bool = False) -> Tokenizer:
    """A `tokenizers` WordLevel model over ``vocab`` with the GloVe normalizer and pre-tokenizer.

    Args:
        vocab: word -> id (the embedding row); must hold ``<pad>`` and ``<unk>``.
        drop_stopwords: Also drop `STOPWORDS` and symbol-only tokens (punctuation).
    """
    if UNK_TOKEN not in vocab or PAD_TOKEN not in vocab:
        raise ValueError(f"The vocabulary must contain {PAD_TOKEN!r} and {UNK_TOKEN!r}.")
    backend = Tokenizer(models.WordLevel(vocab=vocab, unk_token=UNK_TOKEN))
    backend.normalizer = _normalizer()
    backend.pre_tokenizer = _pre_tokenizer(DROPPED_TOKEN_PATTERN if drop_stopwords else None)
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
        """Tokenizes queries: padded, truncated to ``query_max_length``, as PyTorch tensors;
        ``hash_unknown_words=True`` gives unknown words their `unknown_word_id`."""
        return self._encode_side(texts, self.query_max_length, **kwargs)

    def encode_passages(self, texts: list[str], **kwargs):
        """Tokenizes passages: padded, truncated to ``passage_max_length``, as PyTorch tensors."""
        return self._encode_side(texts, self.passage_max_length, **kwargs)

    def _encode_side(
        self, texts: list[str], max_length: int, hash_unknown_words: bool = False, **kwargs
    ):
        if isinstance(texts, str):
            raise ValueError("Pass a list of strings, not a single string.")
        tensors = kwargs.pop("return_tensors", "pt")
        batch = tokenize(
            self, list(texts), hash_unknown_words, padding=True, truncation=True,
            max_length=max_length, **kwargs,
        )  # fmt: skip
        return batch.convert_to_tensors(tensors)


# Fast token ids --------------------------------------------------------------------------------

# A chunk of text between ASCII spaces made of opening brackets/quotes, one ASCII word or number,
# then closing punctuation. GLOVE_TOKEN_PATTERN splits it into each symbol alone and the word: no
# alternative but the last starts at these symbols, and one word or number cannot be an
# abbreviation or a contraction. NFKC leaves ASCII unchanged.
_SIMPLE_CHUNK = re.compile(r'([(\["]*)([A-Za-z]+|[0-9]+)([.,:;?!)\]"]*)')
_SIMPLE_CHARS = frozenset('()[]".,:;?!' + "abcdefghijklmnopqrstuvwxyz0123456789")
_STOPWORD_SET = frozenset(STOPWORDS)


@functools.cache
def _known_pipelines() -> dict[bytes, bool]:
    """Serialised pre-tokenizers that `build_backend` makes or made -> whether they drop words."""
    known = {_pre_tokenizer(None).__getstate__(): False}
    for pattern in (DROPPED_TOKEN_PATTERN, _LEGACY_DROPPED_TOKEN_PATTERN):
        known[_pre_tokenizer(pattern).__getstate__()] = True
    return known


class ChunkEncoder:
    """Token ids as the tokenizer's own pipeline gives them, each distinct chunk resolved once.

    Texts are cut at ASCII spaces: no token spans one, NFKC and lowercasing map each side on its
    own, and the token pattern looks ahead at most to a word boundary, so a text's ids are its
    chunks' ids in order. Chunks of one plain word with punctuation around it (most of them) are
    looked up directly; the others go through the `tokenizers` pipeline, once per distinct chunk.
    Only for the pipelines `build_backend` makes (`for_tokenizer` returns None for any other).
    """

    def __init__(self, backend: Tokenizer, drop_stopwords: bool, unk_id: int):
        self.backend = backend
        self.drop_stopwords = drop_stopwords
        self.unk_id = unk_id

    @classmethod
    def for_tokenizer(cls, tokenizer) -> ChunkEncoder | None:
        """The encoder for ``tokenizer``'s backend, or None unless its pipeline is a known one
        (WordLevel model, this file's normalizer and pre-tokenizer, no special tokens added
        around a text, no added token that a plain chunk could contain)."""
        backend = getattr(tokenizer, "backend_tokenizer", None)
        if not isinstance(backend, Tokenizer) or not isinstance(backend.model, models.WordLevel):
            return None
        post = backend.post_processor  # transformers sets one that adds no token
        if post is not None and post.num_special_tokens_to_add(False):
            return None
        if backend.normalizer is None:
            return None
        if backend.normalizer.__getstate__() != _normalizer().__getstate__():
            return None
        pre_tokenizer = backend.pre_tokenizer
        state = None if pre_tokenizer is None else pre_tokenizer.__getstate__()
        drop = _known_pipelines().get(state)
        unk_id = backend.token_to_id(backend.model.unk_token)
        if drop is None or unk_id is None:
            return None
        for token in backend.get_added_tokens_decoder().values():
            content = token.content
            if token.lstrip or token.rstrip or any(char.isspace() for char in content):
                return None
            if _SIMPLE_CHARS.issuperset(content.lower()):  # could sit inside a plain chunk
                return None
        return cls(backend, drop, unk_id)

    def __call__(
        self,
        texts: list[str],
        max_length: int,
        truncation_side: str = "right",
        unknown_from: int | None = None,
    ) -> list[list[int]]:
        """Each text's ids, truncated to ``max_length`` on ``truncation_side``; with
        ``unknown_from`` (the vocabulary size) unknown words get their `unknown_word_id`."""
        chunks = [text.split(" ") for text in texts]
        ids: dict[str, list[int]] = {}
        others = []
        for chunk in set(itertools.chain.from_iterable(chunks)):
            resolved = self._plain_chunk(chunk, unknown_from)
            if resolved is None:
                others.append(chunk)
            else:
                ids[chunk] = resolved
        # Whole chunks: a tokenizer call may have left its truncation or padding on the backend.
        if self.backend.truncation is not None:
            self.backend.no_truncation()
        if self.backend.padding is not None:
            self.backend.no_padding()
        encode = getattr(self.backend, "encode_batch_fast", self.backend.encode_batch)
        if unknown_from is not None:
            encode = self.backend.encode_batch  # the fast one gives no offsets to read words by
        normalize = self.backend.normalizer.normalize_str
        for chunk, encoding in zip(others, encode(others), strict=True):
            ids[chunk] = encoding.ids
            if unknown_from is not None and self.unk_id in encoding.ids:
                ids[chunk] = [
                    unknown_word_id(normalize(chunk[start:end]), unknown_from)
                    if token == self.unk_id
                    else token
                    for token, (start, end) in zip(encoding.ids, encoding.offsets, strict=True)
                ]
        lookup = ids.__getitem__
        rows = [list(itertools.chain.from_iterable(map(lookup, parts))) for parts in chunks]
        if truncation_side == "left":
            return [row[max(0, len(row) - max_length) :] for row in rows]
        return [row[:max_length] for row in rows]

    def _plain_chunk(self, chunk: str, unknown_from: int | None = None) -> list[int] | None:
        """The ids of a plain chunk (`_SIMPLE_CHUNK`), or None for any other."""
        match = _SIMPLE_CHUNK.fullmatch(chunk)
        if match is None:
            return None
        opening, word, closing = match.groups()
        word = word.lower()
        if self.drop_stopwords:  # symbols are dropped too
            return [] if word in _STOPWORD_SET else [self._id(word, unknown_from)]
        return [self._id(token, unknown_from) for token in (*opening, word, *closing)]

    def _id(self, token: str, unknown_from: int | None = None) -> int:
        found = self.backend.token_to_id(token)
        if found is not None:
            return found
        return self.unk_id if unknown_from is None else unknown_word_id(token, unknown_from)


def encode_ids(
    tokenizer, texts: list[str], max_length: int, hash_unknown_words: bool = False
) -> list[list[int]]:
    """``tokenizer(texts, truncation=True, max_length=max_length)["input_ids"]``: the same ids,
    faster where `ChunkEncoder` knows the tokenizer's pipeline (any tokenizer this file builds,
    saves or loads, through `TwoTowerTokenizerFast` or a plain ``AutoTokenizer``).

    With ``hash_unknown_words`` (a model's config says so) each ``<unk>`` becomes its word's
    `unknown_word_id`, as `hash_unknown_ids` does.
    """
    encoder = ChunkEncoder.for_tokenizer(tokenizer)
    if encoder is None or not all(isinstance(text, str) for text in texts):
        batch = tokenize(
            tokenizer, list(texts), hash_unknown_words, truncation=True, max_length=max_length
        )
        return batch["input_ids"]
    split = getattr(tokenizer, "split_special_tokens", False)
    if encoder.backend.encode_special_tokens != split:  # as the tokenizer's __call__ sets it
        encoder.backend.encode_special_tokens = split
    side = getattr(tokenizer, "truncation_side", "right")
    return encoder(texts, max_length, side, len(tokenizer) if hash_unknown_words else None)
