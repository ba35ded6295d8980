"""`load_encoder`: a model reference (checkpoint path, Hub id or baseline name) -> an encoder."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from modeling.retrieval.baselines import (
    GLOVE_AVG_NAMES,
    MINILM_NAMES,
    MODEL2VEC_NAMES,
    GloveAverageEncoder,
    MiniLMEncoder,
    Model2VecEncoder,
)
from modeling.retrieval.encoders import DenseEncoder, TwoTowerEncoder
from modeling.retrieval.onnx_encoder import OnnxEncoder

ONNX_PREFIXES = {"onnx:": False, "onnx-int8:": True}  # reference prefix -> int8 files


def load_encoder(
    reference: str | Path,
    batch_size: int | None = None,
    device: str | None = None,
    glove: Callable[[], object] | None = None,
) -> DenseEncoder:
    """Resolves a model reference to an encoder.

    Args:
        reference: A two-tower checkpoint path, ``"onnx:PATH"``/``"onnx-int8:PATH"`` (the
            checkpoint's ONNX export run by onnxruntime, see ``scripts/export_onnx.py``),
            ``"minilm"``/``"all-MiniLM-L6-v2"``, ``"glove-avg"`` or ``"model2vec"`` (the static
            model distilled from MiniLM by ``scripts/experiments/distill_model2vec.py``; or any
            model2vec directory).
        batch_size: Texts per forward pass (default: 256 for two-tower, 64 for MiniLM).
        device: ``"cpu"``, ``"cuda"``, ...; None picks CUDA when available.
        glove: Called for the GloVe vocabulary when ``reference`` is the GloVe average
            (e.g. ``data_prep.glove.load_glove``), so other references never load it.
    """
    reference = str(reference)
    for prefix, int8 in ONNX_PREFIXES.items():
        if reference.lower().startswith(prefix):
            return OnnxEncoder(reference[len(prefix) :], int8=int8, batch_size=batch_size or 256)
    if reference.lower() in MINILM_NAMES:
        return MiniLMEncoder(batch_size=batch_size or 64, device=device)
    if reference.lower() in GLOVE_AVG_NAMES:
        if glove is None:
            raise ValueError(
                "The GloVe average needs its vocabulary: pass glove=data_prep.glove.load_glove."
            )
        return GloveAverageEncoder(glove())
    if reference.lower() in MODEL2VEC_NAMES:
        return Model2VecEncoder(batch_size=batch_size or 1024)
    if _is_model2vec_dir(Path(reference)):
        return Model2VecEncoder(reference, batch_size=batch_size or 1024)
    if not Path(reference).exists() and "/" not in reference:
        raise ValueError(
            f"Model {reference!r} is neither a checkpoint directory nor one of "
            f"{sorted(MINILM_NAMES | GLOVE_AVG_NAMES | MODEL2VEC_NAMES)}; pass e.g. "
            "checkpoints/two_tower_final (or onnx:checkpoints/two_tower_final for its ONNX export)."
        )
    return TwoTowerEncoder(reference, batch_size=batch_size or 256, device=device)


def _is_model2vec_dir(path: Path) -> bool:
    """A directory saved by model2vec (its config.json says ``"model_type": "model2vec"``)."""
    config = path / "config.json"
    if not config.is_file():
        return False
    return json.loads(config.read_text()).get("model_type") == "model2vec"
