"""Exports a checkpoint's query and passage towers to ONNX, for onnxruntime.

Writes CKPT/onnx/query.onnx and CKPT/onnx/passage.onnx (inputs input_ids and attention_mask,
int64, dynamic batch and length; output embeddings, float32) and, with --int8, dynamically
quantised copies query_int8.onnx and passage_int8.onnx. Each file is checked against PyTorch on
a probe batch (an empty text included) before it is moved into place. Encode with it through
load_encoder("onnx:CKPT") or "onnx-int8:CKPT" (modeling.retrieval.onnx_encoder.OnnxEncoder);
scripts/evaluate.py --model onnx:CKPT scores it.

    python scripts/export_onnx.py --model checkpoints/two_tower_final --int8
"""

from __future__ import annotations

import argparse
import logging

from modeling.retrieval.onnx_export import MIN_OPSET, export_onnx

logger = logging.getLogger("export_onnx")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", required=True, help="A local checkpoint directory.")
    parser.add_argument("--int8", action="store_true", help="Also write int8 (dynamic) copies.")
    parser.add_argument(
        "--opset", type=int, default=MIN_OPSET, help="ONNX opset, >= 18 (default: %(default)s)."
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="Replace files already in CKPT/onnx/."
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> list[str]:
    args = parse_args(argv)
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level="INFO")
    for noisy in ("onnx_ir", "onnxscript"):  # per-pass logs of the ONNX optimiser
        logging.getLogger(noisy).setLevel(logging.WARNING)

    # 1. Export, check and (with --int8) quantise both towers.
    written = export_onnx(args.model, int8=args.int8, opset=args.opset, overwrite=args.overwrite)

    # 2. Report.
    for path in written:
        logger.info("Wrote %s (%.1f MB)", path, path.stat().st_size / 1e6)
    return [str(path) for path in written]


if __name__ == "__main__":
    main()
