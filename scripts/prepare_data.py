"""Convert MS MARCO (Hub v2.1, local v2.1 files or passage pairs) to the canonical parquet table.

    python scripts/prepare_data.py --source ../shared/data/msmarco/train_pairs.jsonl \
        --output data/train.parquet
    python scripts/prepare_data.py --source microsoft/ms_marco --split train --positives all \
        --output data/train.parquet

Training reads these files as they are (--train_file data/train.parquet); it also accepts the raw
sources directly, so this step is for inspecting or reusing the converted table.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from data_prep.msmarco import POSITIVE_CHOICES, load_msmarco, save_canonical

logger = logging.getLogger("prepare_data")


def main() -> None:
    # 1. Arguments
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--source", required=True, help="Hub dataset id or a local .jsonl/.parquet file."
    )
    parser.add_argument("--split", default="train", help="Hub split (train, validation, test).")
    parser.add_argument(
        "--positives",
        default="selected",
        choices=POSITIVE_CHOICES,
        help="v2.1: is_selected passages or all candidates.",
    )
    parser.add_argument(
        "--output", required=True, help="Where to write the canonical parquet file."
    )
    parser.add_argument("--overwrite", action="store_true", help="Replace an existing --output.")
    args = parser.parse_args()
    logging.basicConfig(
        format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=logging.INFO
    )
    if Path(args.output).exists() and not args.overwrite:
        parser.error(f"{args.output} exists; pass --overwrite to replace it.")

    # 2. Convert and save
    table = load_msmarco(args.source, args.split, args.positives)
    save_canonical(table, args.output)
    positives = sum(len(p) for p in table.column("positives").to_pylist())
    logger.info("Wrote %s: %d queries, %d positives", args.output, table.num_rows, positives)


if __name__ == "__main__":
    main()
