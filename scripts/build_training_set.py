"""Build the recipe's training table: more real queries and BM25-mined hard negatives.

    python scripts/build_training_set.py --output data/train_recipe.parquet
    python scripts/train.py --train_file data/train_recipe.parquet --num_negatives 1

Sources (see data_prep/training_sets.py): train_pairs.jsonl, train_pairs_v2text.jsonl and the
dev.small queries outside dev600; every dev600 and DL19 query is left out. Negatives: each
query's best BM25 passages of corpus.tsv that are not its positives (data_prep/hard_negatives.py).
About a minute on 2 cores.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a clone without install

from data_prep.eval_tasks import read_tsv_collection
from data_prep.hard_negatives import mine_bm25_negatives
from data_prep.msmarco import save_canonical
from data_prep.training_sets import SOURCES, load_training_table

logger = logging.getLogger("build_training_set")
DEFAULT_DATA_DIR = Path(__file__).resolve().parents[1].parent / "shared/data/msmarco"


def main(argv: list[str] | None = None) -> None:
    # 1. Arguments
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data_dir", default=str(DEFAULT_DATA_DIR), help="MS MARCO subsets.")
    parser.add_argument("--sources", default=",".join(SOURCES), help="Among %(default)s.")
    parser.add_argument("--negatives", type=int, default=10, help="Mined per query; 0: none.")
    parser.add_argument("--output", required=True, help="Canonical parquet to write.")
    args = parser.parse_args(argv)
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level="INFO")
    logging.getLogger("bm25s").setLevel(logging.WARNING)

    # 2. Queries and positives, evaluation queries excluded
    table = load_training_table(args.data_dir, [s.strip() for s in args.sources.split(",")])

    # 3. Hard negatives from corpus.tsv
    if args.negatives:
        corpus = read_tsv_collection(Path(args.data_dir) / "corpus.tsv")
        table = mine_bm25_negatives(
            table, corpus.texts, depth=3 * args.negatives, keep=args.negatives
        )
    save_canonical(table, args.output)
    logger.info("Wrote %s: %d queries", args.output, table.num_rows)


if __name__ == "__main__":
    main()
