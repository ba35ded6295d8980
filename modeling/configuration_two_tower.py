"""Configuration of the two-tower GloVe RNN retriever: every architecture choice lives here."""

from __future__ import annotations

from transformers import PretrainedConfig

RNN_TYPES = ("gru", "lstm")
POOLINGS = ("mean", "max", "last", "attention")
QUERY_MAX_LENGTH = 32  # MS MARCO queries are a handful of words
PASSAGE_MAX_LENGTH = 64  # nearly all of an MS MARCO passage once stopwords are dropped


class TwoTowerConfig(PretrainedConfig):
    """Architecture of `TwoTowerModel`: one word-embedding table feeding two RNN towers.

    The defaults describe checkpoints saved before a field existed (``bidirectional=True``,
    ``lexical_buckets=0``), so old ``config.json`` files load unchanged. The training recipe
    (``modeling/training/recipe.py``) sets every field explicitly.

    Args:
        vocab_size: Rows of the embedding table (GloVe words + ``<pad>`` + ``<unk>``).
        embedding_dim: Width of the word vectors (50 for the default GloVe 6B 50d).
        freeze_embeddings: Keep the GloVe vectors fixed (fast, robust on little data).
        rnn_type: ``"gru"`` or ``"lstm"``.
        hidden_size: RNN hidden units per direction.
        num_layers: Stacked RNN layers per tower.
        bidirectional: Read the text both ways (outputs are concatenated, 2 * hidden_size).
        pooling: How token states become one vector: ``"mean"``/``"max"`` over real tokens,
            ``"last"`` (final hidden state of each direction), or ``"attention"`` (a mean
            weighted by a learned score of each token's state, softmax over real tokens).
        output_dim: Size of a linear projection after pooling; 0 keeps the pooled size.
        lexical_buckets: Width of each tower's learned lexical part (0 = none). Each token gets a
            term weight from its RNN state (``relu(state . u + b)``), written into bucket
            ``word_id % lexical_buckets`` (the token id, or the options below; the largest
            weight where tokens share a bucket);
            that sparse, hashed bag of words is appended to the normalised pooled vector, so
            a query and a passage sharing a word add the product of its two weights to their
            score. ``<unk>`` and padding get no weight.
        hash_unknown_words: Give each word outside the vocabulary its own id past it
            (``vocab_size`` plus a hash of the word; see ``tokenization_two_tower``), so the
            lexical part matches rare names, codes and terms GloVe lacks; the embedding reads
            ``<unk>`` for them. False (checkpoints saved before it existed): every unknown word
            is ``<unk>`` and never matches.
        lexical_stems: The lexical part matches words by stem (``cells`` meets ``cell``): the
            model holds ``lexical_ids``, each vocabulary word's stem group (the id of the first
            word with its stem), used for the bucket instead of the token id. Unknown words
            (``hash_unknown_words``) match as written.
        lexical_tf_saturation: BM25's k1 for the lexical part: a word's weight grows with its
            count in the text as ``tf * (k1 + 1) / (tf + k1)``; 0 keeps the largest weight alone.
        dropout: Dropout on embeddings and between RNN layers (training only).
        normalize: L2-normalise the pooled vectors, so the score is their cosine similarity
            (plus the lexical part's product, if any).
        query_max_length: Tokens kept per query.
        passage_max_length: Tokens kept per passage; raise it for longer texts or for a
            tokenizer that keeps stopwords.
        initializer_range: Std of the normal init of the embedding rows not set from GloVe.
    """

    model_type = "two_tower"

    def __init__(
        self,
        vocab_size: int = 400_002,  # GloVe 6B: 400k words + <pad> + <unk>
        embedding_dim: int = 50,
        pad_token_id: int = 400_000,  # <pad> is appended after the GloVe words, as in the seed
        unk_token_id: int = 400_001,
        freeze_embeddings: bool = True,
        rnn_type: str = "gru",
        hidden_size: int = 128,
        num_layers: int = 1,
        bidirectional: bool = True,
        pooling: str = "attention",
        output_dim: int = 0,
        lexical_buckets: int = 0,
        hash_unknown_words: bool = False,
        lexical_stems: bool = False,
        lexical_tf_saturation: float = 0.0,
        dropout: float = 0.0,
        normalize: bool = True,
        query_max_length: int = QUERY_MAX_LENGTH,
        passage_max_length: int = PASSAGE_MAX_LENGTH,
        initializer_range: float = 0.02,
        **kwargs,
    ):
        if rnn_type not in RNN_TYPES:
            raise ValueError(f"rnn_type must be one of {RNN_TYPES}, got {rnn_type!r}.")
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}.")
        for name, value in [
            ("vocab_size", vocab_size),
            ("embedding_dim", embedding_dim),
            ("hidden_size", hidden_size),
            ("num_layers", num_layers),
            ("query_max_length", query_max_length),
            ("passage_max_length", passage_max_length),
        ]:
            if value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value}.")
        if output_dim < 0:
            raise ValueError(f"output_dim must be >= 0 (0 = no projection), got {output_dim}.")
        if lexical_buckets < 0:
            raise ValueError(
                f"lexical_buckets must be >= 0 (0 = no lexical part), got {lexical_buckets}."
            )
        if lexical_tf_saturation < 0:
            raise ValueError(f"lexical_tf_saturation must be >= 0, got {lexical_tf_saturation}.")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}.")
        for name, token_id in [("pad_token_id", pad_token_id), ("unk_token_id", unk_token_id)]:
            if not 0 <= token_id < vocab_size:
                raise ValueError(
                    f"{name}={token_id} is outside the vocabulary (size {vocab_size})."
                )
        self.vocab_size = vocab_size
        self.embedding_dim = embedding_dim
        self.unk_token_id = unk_token_id
        self.freeze_embeddings = freeze_embeddings
        self.rnn_type = rnn_type
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bidirectional = bidirectional
        self.pooling = pooling
        self.output_dim = output_dim
        self.lexical_buckets = lexical_buckets
        self.hash_unknown_words = hash_unknown_words
        self.lexical_stems = lexical_stems
        self.lexical_tf_saturation = lexical_tf_saturation
        self.dropout = dropout
        self.normalize = normalize
        self.query_max_length = query_max_length
        self.passage_max_length = passage_max_length
        self.initializer_range = initializer_range
        super().__init__(pad_token_id=pad_token_id, **kwargs)

    @property
    def pooled_size(self) -> int:
        """Size of the pooled (and projected) part of the towers' vectors."""
        if self.output_dim:
            return self.output_dim
        return self.hidden_size * (2 if self.bidirectional else 1)

    @property
    def embed_size(self) -> int:
        """Size of the vectors the towers output: the pooled part, then the lexical part."""
        return self.pooled_size + self.lexical_buckets
