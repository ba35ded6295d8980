"""`OnnxEncoder`: a checkpoint's exported towers (``CKPT/onnx/``) run by onnxruntime.

It tokenises with the checkpoint's own ``tokenizer.json`` and batches texts by length as
``TwoTowerModel.encode_queries`` does (`encode_ids`, `length_batches`), and gives the same
vectors as `TwoTowerEncoder` (to float error; int8 files approximately). PyTorch still
tokenises and pads; only the towers run in onnxruntime. ``load_encoder("onnx:CKPT")`` /
``"onnx-int8:CKPT"`` build one.
Deliberately left out: GPU execution providers (CPU only) and exporting (``onnx_export.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from modeling.modeling_two_tower import length_batches
from modeling.retrieval.encoders import DenseEncoder
from modeling.retrieval.onnx_export import (
    INPUT_NAMES,
    OUTPUT_NAME,
    onnx_path,
    require_onnx_packages,
)
from modeling.tokenization_two_tower import encode_ids


class OnnxEncoder(DenseEncoder):
    """Both towers of a checkpoint as onnxruntime sessions.

    Args:
        path: Checkpoint directory holding ``config.json``, ``tokenizer.json`` and ``onnx/``
            (written by ``scripts/export_onnx.py``).
        int8: Run the int8 files (``onnx/{tower}_int8.onnx``, exported with ``--int8``).
        batch_size: Texts per run.
        threads: onnxruntime intra-op threads; None uses as many as torch
            (``torch.get_num_threads()``, which follows ``OMP_NUM_THREADS``), so that both
            runtimes compare on equal terms.
        name: Label in result tables; defaults to the directory name plus ``-onnx``/``-onnx-int8``.
    """

    def __init__(
        self,
        path: str | Path,
        int8: bool = False,
        batch_size: int = 256,
        threads: int | None = None,
        name: str = "",
    ):
        require_onnx_packages()
        import onnxruntime
        from transformers import AutoTokenizer

        from modeling import TwoTowerConfig

        path = Path(path)
        files = {tower: onnx_path(path, tower, int8) for tower in ("query", "passage")}
        missing = [str(file) for file in files.values() if not file.is_file()]
        if missing:
            raise FileNotFoundError(
                f"No ONNX export at {', '.join(missing)}: run scripts/export_onnx.py --model "
                f"{path}{' --int8' if int8 else ''} first."
            )
        self.config = TwoTowerConfig.from_pretrained(path)
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads or torch.get_num_threads()
        self.sessions = {
            tower: onnxruntime.InferenceSession(
                str(file), options, providers=["CPUExecutionProvider"]
            )
            for tower, file in files.items()
        }
        self.lexical_buckets = self.config.lexical_buckets
        self.batch_size = batch_size
        suffix = "-onnx-int8" if int8 else "-onnx"
        self.reference = f"onnx{'-int8' if int8 else ''}:{path.resolve()}"
        self.name = name or path.resolve().name + suffix

    def encode_queries(self, texts: Sequence[str], progress_bar: bool = False) -> np.ndarray:
        return self._encode(texts, "query", self.config.query_max_length, progress_bar)

    def encode_passages(self, texts: Sequence[str], progress_bar: bool = False) -> np.ndarray:
        return self._encode(texts, "passage", self.config.passage_max_length, progress_bar)

    def _encode(self, texts, tower: str, max_length: int, progress_bar: bool) -> np.ndarray:
        if isinstance(texts, str):
            raise ValueError("Pass a list of strings, not a single string.")
        texts = list(texts)
        out = np.empty((len(texts), self.config.embed_size), dtype=np.float32)
        if not texts:
            return out
        ids = encode_ids(self.tokenizer, texts, max_length, self.config.hash_unknown_words)
        session = self.sessions[tower]
        batches = length_batches(ids, self.batch_size, self.config.pad_token_id, progress_bar)
        for rows, input_ids, mask in batches:
            inputs = dict(zip(INPUT_NAMES, (input_ids.numpy(), mask.numpy()), strict=True))
            out[rows] = session.run([OUTPUT_NAME], inputs)[0]
        return out
