"""Build the recipe's training table: more real queries and BM25-mined hard negatives.

    python scripts/build_training_set.py --output data/train_recipe.parquet
    python scripts/train.py --train_file data/train_recipe.parquet --num_negatives 1

Sources (see data_prep/training_sets.py): train_pairs.jsonl, train_pairs_v2text.jsonl and the
dev.small queries outside dev600; every dev600 and DL19 query is left out. Negatives: each
query's best BM25 passages of corpus.tsv that are not its positives (data_prep/hard_negatives.py).
About a minute on 2 cores.

With --teacher minilm it also writes the teacher vectors for distillation (train.py
--teacher_file): all-MiniLM-L6-v2 embeddings of every query and passage of the table. That is
~67k texts: 10-12 min on 2 cores here when corpus.tsv's embeddings were already in the
evaluation's cache (shared with `evaluate.py --baselines minilm`); without it, an estimated
~25 min more (the cache's ~20 min for corpus.tsv). --reuse_table adds them to a table already
built (as `make train TEACHER=minilm` does) instead of rebuilding it.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import pyarrow.parquet as pq

from data_prep import MSMARCO_DIR
from data_prep.hard_negatives import mine_bm25_negatives
from data_prep.msmarco import load_msmarco, save_canonical
from data_prep.training_sets import SOURCES, load_training_table
from modeling.evaluation.tasks import read_tsv_collection

logger = logging.getLogger("build_training_set")


def main(argv: list[str] | None = None) -> None:
    # 1. Arguments
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data_dir", default=str(MSMARCO_DIR), help="MS MARCO subsets.")
    parser.add_argument("--sources", default=",".join(SOURCES), help="Among %(default)s.")
    parser.add_argument("--negatives", type=int, default=10, help="Mined per query; 0: none.")
    parser.add_argument("--output", required=True, help="Canonical parquet to write.")
    parser.add_argument(
        "--teacher",
        choices=["minilm"],
        help="Also write teacher vectors (OUTPUT with .teacher.parquet) for distillation.",
    )
    parser.add_argument(
        "--reuse_table",
        action="store_true",
        help="With --teacher: read an existing OUTPUT instead of rebuilding it.",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level="INFO")
    logging.getLogger("bm25s").setLevel(logging.WARNING)

    if args.reuse_table and not args.teacher:
        parser.error("--reuse_table only adds teacher vectors: pass --teacher minilm with it.")
    if args.reuse_table and not Path(args.output).exists():
        parser.error(f"--reuse_table: {args.output} does not exist; drop the flag to build it.")
    if args.negatives or args.teacher:
        corpus = read_tsv_collection(Path(args.data_dir) / "corpus.tsv")
    if args.reuse_table:
        table = load_msmarco(args.output)
        logger.info("Read %s: %d queries", args.output, table.num_rows)
    else:
        # 2. Queries and positives, evaluation queries excluded
        table = load_training_table(args.data_dir, [s.strip() for s in args.sources.split(",")])

        # 3. Hard negatives from corpus.tsv
        if args.negatives:
            table = mine_bm25_negatives(
                table, corpus.texts, depth=3 * args.negatives, keep=args.negatives
            )
        save_canonical(table, args.output)
        logger.info("Wrote %s: %d queries", args.output, table.num_rows)

    # 4. Teacher vectors (optional)
    if args.teacher:
        from data_prep.teacher import build_teacher_table, teacher_path
        from modeling.retrieval.baselines import MiniLMEncoder

        teacher = build_teacher_table(table, MiniLMEncoder(), extra_passages=corpus.texts)
        pq.write_table(teacher, teacher_path(args.output))
        logger.info("Wrote %s: %d teacher vectors", teacher_path(args.output), teacher.num_rows)


if __name__ == "__main__":
    main()
