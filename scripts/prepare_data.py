"""Convert MS MARCO (Hub v2.1, local v2.1 files or passage pairs) to the canonical parquet table.

    python scripts/prepare_data.py --source ../shared/data/msmarco/train_pairs.jsonl \
        --output data/train.parquet
    python scripts/prepare_data.py --source microsoft/ms_marco --split train --positives all \
        --output data/train.parquet

Training reads these files as they are (--train_file data/train.parquet), memory-mapped; it also
accepts the raw sources directly, but holds them in memory. The conversion streams: rows are read
one by one and written row group by row group, so any size of source fits in memory.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from data_prep.canonical import convert_msmarco
from data_prep.msmarco import POSITIVE_CHOICES

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

    # 2. Convert, streaming, and save (a failed run leaves no partial --output)
    stats = convert_msmarco(args.source, args.output, args.split, args.positives)
    logger.info(
        "Wrote %s: %d queries, %d positives (from %d rows)",
        args.output,
        stats["queries"],
        stats["positives"],
        stats["rows"],
    )


if __name__ == "__main__":
    main()
