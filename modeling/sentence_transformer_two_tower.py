"""The two-tower model as a sentence-transformers input module (shipped with checkpoints).

``SentenceTransformer(path_or_repo_id, trust_remote_code=True)`` reads the checkpoint's
``modules.json``, which names `TwoTowerModule` as the model's only module. Its ``preprocess``
picks the tower from sentence-transformers' ``task``: ``encode_query`` (task ``"query"``) runs
the query tower, ``encode_document`` (task ``"document"``) the passage tower, each truncating to
the config's length for that side, so the vectors equal `TwoTowerModel.encode_queries` and
`encode_passages`. Plain ``encode`` (no task) uses the passage tower, as sentence-transformers'
own query/document ``Router`` does by default. Scores are dot products
(``similarity_fn_name: "dot"`` in ``config_sentence_transformers.json``): a vector with a lexical
part is not unit length, and its cosine is not the score the model was trained for.
Deliberately left out: training through sentence-transformers, and a settable
``max_seq_length`` (the towers have two lengths: ``config.query_max_length`` and
``config.passage_max_length``). Nothing of the project imports this file; it needs
sentence-transformers (6.0 or newer), which the three model files do not.
"""

from __future__ import annotations

from typing import Any

import torch
from sentence_transformers.base.modules import InputModule
from transformers import PreTrainedTokenizerFast

from .modeling_two_tower import TwoTowerModel
from .tokenization_two_tower import tokenize

QUERY_TASKS = ("query",)
PASSAGE_TASKS = ("document", "passage")  # None (plain encode) means a passage too
TOWER_KEY = "two_tower_side"  # feature naming the tower, from preprocess to forward


class TwoTowerModule(InputModule):
    """Texts -> token ids (preprocess) -> one tower's vectors as ``sentence_embedding`` (forward).

    Args:
        model: The two-tower model.
        tokenizer: Its word-level tokenizer (``tokenizer.json`` of the checkpoint).
    """

    def __init__(self, model: TwoTowerModel, tokenizer: PreTrainedTokenizerFast):
        super().__init__()
        self.model = model
        self.tokenizer = tokenizer

    @staticmethod
    def tower(task: str | None) -> str:
        """``"query"`` or ``"passage"``: the tower that encodes texts of ``task``."""
        if task in QUERY_TASKS:
            return "query"
        if task is None or task in PASSAGE_TASKS:
            return "passage"
        raise ValueError(
            f"Unknown task {task!r} for a two-tower model: use encode_query (task 'query') or "
            "encode_document (task 'document')."
        )

    def preprocess(
        self, inputs: list[str], prompt: str | None = None, task: str | None = None, **kwargs
    ) -> dict[str, Any]:
        """Tokenises ``inputs`` for the tower of ``task``, truncated to that tower's length."""
        side = self.tower(task)
        texts = list(inputs)
        bad = [type(text).__name__ for text in texts if not isinstance(text, str)]
        if bad:
            raise ValueError(f"A two-tower model encodes text only, got {bad[0]} inputs.")
        if prompt:
            texts = [prompt + text for text in texts]
        config = self.model.config
        max_length = config.query_max_length if side == "query" else config.passage_max_length
        batch = tokenize(  # unknown words hashed as TwoTowerModel.encode_* hashes them
            self.tokenizer, texts, config.hash_unknown_words, padding=True, truncation=True,
            max_length=max_length,
        )  # fmt: skip
        ids = [torch.tensor(row, dtype=torch.long) for row in batch["input_ids"]]
        masks = [torch.tensor(row, dtype=torch.long) for row in batch["attention_mask"]]
        return {
            "input_ids": torch.stack(ids),  # (B, T); T is 0 when every text is empty
            "attention_mask": torch.stack(masks),
            TOWER_KEY: side,
        }

    def forward(self, features: dict[str, Any], **kwargs) -> dict[str, Any]:
        """Adds ``sentence_embedding``: ``(B, d)`` vectors of the tower preprocess chose."""
        if features[TOWER_KEY] == "query":
            encode = self.model.encode_query
        else:
            encode = self.model.encode_passage
        features["sentence_embedding"] = encode(features["input_ids"], features["attention_mask"])
        return features

    def get_embedding_dimension(self) -> int:
        return self.model.config.embed_size

    def save(self, output_path: str, *args, safe_serialization: bool = True, **kwargs) -> None:
        self.model.save_pretrained(output_path, safe_serialization=safe_serialization)
        self.tokenizer.save_pretrained(output_path)

    @classmethod
    def load(
        cls,
        model_name_or_path: str,
        subfolder: str = "",
        token: bool | str | None = None,
        cache_folder: str | None = None,
        revision: str | None = None,
        local_files_only: bool = False,
        model_kwargs: dict[str, Any] | None = None,
        processor_kwargs: dict[str, Any] | None = None,
        **kwargs,
    ) -> TwoTowerModule:
        """Loads the model and its tokenizer from the checkpoint (a folder or a Hub repo id)."""
        hub = {"subfolder": subfolder, "token": token, "cache_dir": cache_folder}
        hub.update(revision=revision, local_files_only=local_files_only)
        model = TwoTowerModel.from_pretrained(model_name_or_path, **hub, **(model_kwargs or {}))
        tokenizer = PreTrainedTokenizerFast.from_pretrained(
            model_name_or_path, **hub, **(processor_kwargs or {})
        )
        return cls(model, tokenizer)
