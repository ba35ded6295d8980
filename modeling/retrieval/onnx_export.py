"""Exports a checkpoint's two towers to ONNX: ``CKPT/onnx/{query,passage}.onnx`` (+ int8 copies).

Each file maps ``input_ids`` and ``attention_mask`` (int64, ``(batch, length)``, both dynamic) to
``embeddings`` (float32, ``(batch, embed_size)``): the pooled, normalised vector followed by the
lexical buckets, exactly as ``encode_query``/``encode_passage`` give them. The graph appends one
``<pad>`` column to every batch before encoding, which changes no vector (padding is masked out and
lands after every text) and lets a batch of empty texts, ``length == 0``, run as PyTorch runs it.
The towers are traced through their padded path (the one training uses): ``torch.onnx.export``
cannot trace a packed RNN sequence, and the padded path gives the packed path's states. After
writing, each file is run with onnxruntime on a probe batch and checked against PyTorch.
Deliberately left out: the tokenizer (the encoder reads the checkpoint's ``tokenizer.json``, the
graph takes token ids) and static int8 quantisation (no calibration data here);
``quantize_dynamic`` leaves the RNN itself in float32.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import numpy as np
import torch
from torch import nn

from modeling import TwoTowerModel

logger = logging.getLogger(__name__)

ONNX_DIR = "onnx"  # subfolder of the checkpoint
TOWERS = ("query", "passage")
INPUT_NAMES = ("input_ids", "attention_mask")
OUTPUT_NAME = "embeddings"
MISSING_PACKAGES = (
    "ONNX needs onnx, onnxruntime and onnxscript: pip install 'two-tower-msmarco[onnx]'."
)
MIN_OPSET = 18  # ScatterElements with reduction="max" (the lexical bag) needs opset 18
FP32_TOLERANCE = 1e-5  # largest |onnxruntime - PyTorch| accepted on the probe batch


def onnx_path(directory: str | Path, tower: str, int8: bool = False) -> Path:
    """``directory/onnx/{tower}[_int8].onnx``: where a tower's graph lives in a checkpoint."""
    if tower not in TOWERS:
        raise ValueError(f"Unknown tower {tower!r}: choose from {TOWERS}.")
    return Path(directory) / ONNX_DIR / f"{tower}{'_int8' if int8 else ''}.onnx"


class TowerGraph(nn.Module):
    """One tower as a traceable module: ``(input_ids, attention_mask) -> embeddings``."""

    def __init__(self, model: TwoTowerModel, tower: str):
        super().__init__()
        self.model = model
        self.encode = model.encode_query if tower == "query" else model.encode_passage

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        # One <pad> column more: a masked step after every text, so length 0 needs no branch.
        pad = input_ids.new_full((input_ids.size(0), 1), self.model.config.pad_token_id)
        input_ids = torch.cat([input_ids, pad], dim=1)  # (B, T + 1)
        attention_mask = torch.cat([attention_mask, torch.zeros_like(pad)], dim=1)
        return self.encode(input_ids, attention_mask)  # (B, d)


def export_onnx(
    checkpoint: str | Path, int8: bool = False, opset: int = MIN_OPSET, overwrite: bool = False
) -> list[Path]:
    """Writes both towers of ``checkpoint`` to ``checkpoint/onnx/`` and checks them.

    Args:
        checkpoint: A local checkpoint directory (``save_pretrained`` output).
        int8: Also write ``{tower}_int8.onnx``, dynamically quantised to int8 weights.
        opset: ONNX opset, at least 18.
        overwrite: Replace existing files in ``checkpoint/onnx/``.

    Returns:
        The files written.
    """
    require_onnx_packages()
    checkpoint = Path(checkpoint)
    if not (checkpoint / "config.json").is_file():
        raise ValueError(
            f"{checkpoint} has no config.json: pass a local checkpoint directory written by "
            "save_pretrained (e.g. checkpoints/two_tower_final)."
        )
    if opset < MIN_OPSET:
        raise ValueError(
            f"opset {opset} is too old: the lexical bag needs ScatterElements(reduction='max'), "
            f"opset >= {MIN_OPSET}."
        )
    targets = [onnx_path(checkpoint, t, q) for q in (False, True)[: 1 + int8] for t in TOWERS]
    existing = [str(path) for path in targets if path.exists()]
    if existing and not overwrite:
        raise FileExistsError(
            f"{', '.join(existing)} already exist: pass overwrite=True (--overwrite) to replace."
        )
    model = TwoTowerModel.from_pretrained(checkpoint).eval()
    probe = _probe_batch(model.config)
    targets[0].parent.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(dir=targets[0].parent) as scratch:
        written = []
        for tower in TOWERS:
            graph = TowerGraph(model, tower).eval()
            with torch.inference_mode():
                expected = graph.encode(*probe).numpy()
            path = Path(scratch) / onnx_path(".", tower).name
            _export(graph, probe, path, opset)
            _check(path, probe, expected, FP32_TOLERANCE)
            written.append(path)
            if int8:
                quantized = Path(scratch) / onnx_path(".", tower, int8=True).name
                _quantize(path, quantized)
                _check(quantized, probe, expected, None)
                written.append(quantized)
        for path in written:  # only once every file exported and checked
            path.replace(targets[0].parent / path.name)
    return [targets[0].parent / path.name for path in written]


def _export(graph: TowerGraph, probe: tuple[torch.Tensor, ...], path: Path, opset: int) -> None:
    batch, length = torch.export.Dim("batch"), torch.export.Dim("length")
    dims = {"input_ids": {0: batch, 1: length}, "attention_mask": {0: batch, 1: length}}
    logger.info("Exporting %s (opset %d)", path.name, opset)
    # torch.onnx swaps in loop-based RNN decompositions for dynamic shapes, but the operators
    # keep the dispatch cached by an earlier export in this process: a second tower would be
    # traced step by step for the probe's length only. Clearing the cache keeps it dynamic.
    for op in (torch.ops.aten.gru.input, torch.ops.aten.lstm.input):
        getattr(op, "_dispatch_cache", {}).clear()
    # Grad mode selects the tower's padded path; nothing is trained or stored with gradients.
    with torch.enable_grad():
        torch.onnx.export(
            graph,
            probe,
            str(path),
            dynamo=True,
            opset_version=opset,
            input_names=list(INPUT_NAMES),
            output_names=[OUTPUT_NAME],
            dynamic_shapes=dims,
            external_data=False,  # one self-contained file per tower
            verbose=False,
        )
    _check_dynamic(path)


def _check_dynamic(path: Path) -> None:
    """Raises if the graph fixed the batch or length of an input to the probe's."""
    import onnx

    for graph_input in onnx.load(str(path), load_external_data=False).graph.input:
        fixed = [d.dim_value for d in graph_input.type.tensor_type.shape.dim if not d.dim_param]
        if fixed:
            raise RuntimeError(
                f"{path.name}: input {graph_input.name} has fixed dimensions {fixed}, so it would "
                "only encode batches of the probe's shape; this torch version traced the RNN "
                "step by step. Export with the torch version in pyproject.toml."
            )


def require_onnx_packages() -> None:
    """Raises ImportError with the install command when an ONNX package is missing."""
    import importlib.util

    if any(
        importlib.util.find_spec(name) is None for name in ("onnx", "onnxruntime", "onnxscript")
    ):
        raise ImportError(MISSING_PACKAGES)


def _quantize(source: Path, target: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    logger.info("Quantising %s to int8 weights", source.name)
    quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8)


def _check(path: Path, probe, expected: np.ndarray, tolerance: float | None) -> None:
    """Runs ``path`` on the probe batch; raises if it differs from PyTorch beyond ``tolerance``."""
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    inputs = dict(zip(INPUT_NAMES, (t.numpy() for t in probe), strict=True))
    got = session.run([OUTPUT_NAME], inputs)[0]
    difference = float(np.abs(got - expected).max())
    logger.info("%s: max |onnxruntime - PyTorch| = %.2e on the probe batch", path.name, difference)
    if tolerance is not None and not difference <= tolerance:
        raise RuntimeError(
            f"{path.name} differs from PyTorch by {difference:.2e} (> {tolerance:.0e}) on the "
            "probe batch: the export is wrong; please report it with the checkpoint's config."
        )


def _probe_batch(config) -> tuple[torch.Tensor, torch.Tensor]:
    """Texts of lengths 5, 3 and 0 (an empty text) over ids other than <pad>: ``(3, 5)``."""
    generator = torch.Generator().manual_seed(0)
    ids = torch.randint(0, config.vocab_size, (3, 5), generator=generator)
    ids[ids == config.pad_token_id] = config.unk_token_id
    lengths = torch.tensor([5, 3, 0])
    mask = (torch.arange(5)[None, :] < lengths[:, None]).long()
    return ids.masked_fill(mask == 0, config.pad_token_id), mask
