"""Reruns the recipe ablation table: train one short run per setting, evaluate it, tabulate.

Each row trains ``scripts/train.py`` (a subprocess, exactly as a user runs it) with the shared
base flags plus the row's flags, then scores the checkpoint with the evaluation code on
dev600-rerank (MRR@10) and dl19-pool (nDCG@10). Training data never includes an evaluation query
(``data_prep.training_sets``); rows that need more data or BM25-mined negatives get a canonical
parquet built once under ``--work_dir``, distillation rows its all-MiniLM-L6-v2 teacher vectors
(``data_prep/teacher.py``; 10-12 min here with corpus.tsv's MiniLM embeddings cached, more without).
Rows measured before the tokenizer dropped stopwords by default pass ``--drop_stopwords false``.
Finished rows are kept in ``<work_dir>/results.json`` and skipped on a rerun (``--force`` redoes
them), so the table can be built in several sittings.

    python scripts/experiments/ablate.py           # every row; table in results/ablation.md
    python scripts/experiments/ablate.py --rows base,infonce  # a subset
    python scripts/experiments/ablate.py --list    # the rows and what they change

Train time is wall-clock on this machine while it runs; compare it within one table only.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from data_prep import MSMARCO_DIR
from data_prep.hard_negatives import mine_bm25_negatives
from data_prep.msmarco import save_canonical
from data_prep.training_sets import load_training_table
from modeling.evaluation.runner import evaluate_system
from modeling.evaluation.tasks import load_tasks, read_tsv_collection
from modeling.retrieval.encoders import TwoTowerEncoder

logger = logging.getLogger("ablate")
REPO = Path(__file__).resolve().parents[2]
TASKS = ("dev600-rerank", "dl19-pool")
KEYS = ("dev600-rerank/MRR@10", "dl19-pool/nDCG@10")
MORE_DATA = ("train_pairs", "v2text", "dev_small")
INFONCE = ("--loss", "infonce")
FINETUNE = ("--freeze_embeddings", "false")
DISTILL_W3 = ("--distill_weight", "3", "--teacher_temperature", "0.1")
RECIPE_DATA = {"sources": MORE_DATA, "mined_negatives": True, "keep_stopwords": False}
NEG1 = (*INFONCE, "--num_negatives", "1")
NEG3 = ("--num_negatives", "3")  # after NEG1: the last flag wins
EPOCHS3, EPOCHS6 = ("--num_train_epochs", "3"), ("--num_train_epochs", "6")
DISTILL_HELP = "distillation (weight 1, teacher temperature 0.05)"
ATTENTION_RECIPE_HELP = "3 epochs, 3 BM25 negatives, attention pooling"


@dataclass(frozen=True)
class Row:
    """One ablation setting: train.py flags on top of the base, and its training data."""

    name: str
    help: str
    args: tuple[str, ...] = ()
    sources: tuple[str, ...] = ("train_pairs",)
    mined_negatives: bool = False
    teacher: bool = False  # distil from all-MiniLM-L6-v2 (teacher vectors built once, cached)
    keep_stopwords: bool = True  # rows measured before the tokenizer dropped them by default
    # Passed explicitly, so a row reruns as measured whatever train.py's defaults have become.
    learning_rate: float = 1e-3
    passage_max_length: int = 256
    pooling: str = "mean"
    lexical_buckets: int = 0
    bidirectional: bool = True


def len64_row(
    name: str,
    help: str,
    *flags: str,
    lr: float = 8e-3,
    teacher: bool = False,
    pooling: str = "mean",
    lexical_buckets: int = 0,
    bidirectional: bool = True,
) -> Row:
    """A row of the second round: recipe data, 1 BM25 negative, passages cut at 64 tokens."""
    return Row(
        name, help, (*NEG1, *flags), teacher=teacher, learning_rate=lr, passage_max_length=64,
        pooling=pooling, lexical_buckets=lexical_buckets, bidirectional=bidirectional,
        **RECIPE_DATA,
    )  # fmt: skip


def attention_row(name: str, help: str, *flags: str, **kwargs) -> Row:
    """A row of the third round: a `len64_row` with attention pooling."""
    return len64_row(name, help, *flags, pooling="attention", **kwargs)


def lexical_row(name: str, help: str, *flags: str, buckets: int = 4096, **kwargs) -> Row:
    """A row of the fourth round: an `attention_row` whose vectors carry a lexical part."""
    return attention_row(name, help, *flags, lexical_buckets=buckets, **kwargs)


ROWS = [
    Row(
        "base",
        "the seed's recipe: triplet (margin 0.2), GRU, frozen GloVe, batch 64, 1 epoch",
        ("--loss", "triplet"),
    ),
    Row("infonce", "InfoNCE, temperature 0.05", INFONCE),
    Row("infonce-t0.1", "InfoNCE, temperature 0.1", (*INFONCE, "--temperature", "0.1")),
    Row("infonce-t0.02", "InfoNCE, temperature 0.02", (*INFONCE, "--temperature", "0.02")),
    Row("triplet-m0.5", "triplet, margin 0.5", ("--loss", "triplet", "--margin", "0.5")),
    Row("len128", "InfoNCE, passages cut at 128 tokens", INFONCE, passage_max_length=128),
    Row("finetune", "InfoNCE, GloVe fine-tuned", (*INFONCE, "--freeze_embeddings", "false")),
    Row(
        "finetune-pruned",
        "InfoNCE, fine-tuned GloVe pruned to training words + top 20k",
        (*INFONCE, "--freeze_embeddings", "false", "--prune_vocab", "true"),
    ),
    Row("lstm", "InfoNCE, LSTM", (*INFONCE, "--rnn_type", "lstm")),
    Row("pool-max", "InfoNCE, max pooling", INFONCE, pooling="max"),
    Row("unidirectional", "InfoNCE, one direction", INFONCE, bidirectional=False),
    Row("out128", "InfoNCE, linear projection to 128", (*INFONCE, "--output_dim", "128")),
    Row("batch128", "InfoNCE, batch 128", (*INFONCE, "--per_device_train_batch_size", "128")),
    Row("batch32", "InfoNCE, batch 32", (*INFONCE, "--per_device_train_batch_size", "32")),
    Row(
        "hardneg",
        "InfoNCE + 1 BM25 negative per query (corpus.tsv, positives excluded)",
        NEG1,
        mined_negatives=True,
    ),
    Row(
        "moredata",
        "InfoNCE + train_pairs_v2text + dev.small (not dev600)",
        INFONCE,
        sources=MORE_DATA,
    ),
    Row("epochs2", "InfoNCE, 2 epochs", (*INFONCE, "--num_train_epochs", "2")),
    Row(
        "moredata-hardneg",
        "InfoNCE + more data + 1 BM25 negative per query",
        NEG1,
        sources=MORE_DATA,
        mined_negatives=True,
    ),
    Row(
        "finetune-moredata-hardneg",
        "InfoNCE + fine-tuned GloVe + more data + 1 BM25 negative per query",
        (*INFONCE, "--freeze_embeddings", "false", "--num_negatives", "1"),
        sources=MORE_DATA,
        mined_negatives=True,
    ),
    Row("epochs5", "InfoNCE, 5 epochs", (*INFONCE, "--num_train_epochs", "5")),
    Row(
        "recipe-v1",
        "the first recipe: InfoNCE + more data + 1 BM25 negative per query, 2 epochs",
        (*NEG1, "--num_train_epochs", "2"),
        sources=MORE_DATA,
        mined_negatives=True,
    ),
    Row(
        "finetune-moredata",
        "InfoNCE + fine-tuned GloVe + more data",
        (*INFONCE, "--freeze_embeddings", "false"),
        sources=MORE_DATA,
    ),
    # Stopwords and punctuation dropped by the tokenizer (the default since), on the recipe data
    Row(
        "stopwords",
        "more data + 1 BM25 negative, stopwords dropped",
        NEG1,
        **RECIPE_DATA,
    ),
    Row(
        "stopwords-neg3",
        "more data + 3 BM25 negatives, stopwords dropped",
        (*INFONCE, "--num_negatives", "3"),
        **RECIPE_DATA,
    ),
    Row(
        "stopwords-epochs3",
        "more data + 1 BM25 negative, stopwords dropped, 3 epochs",
        (*NEG1, "--num_train_epochs", "3"),
        **RECIPE_DATA,
    ),
    Row(
        "stopwords-neg3-epochs2",
        "more data + 3 BM25 negatives, stopwords dropped, 2 epochs",
        (*INFONCE, "--num_negatives", "3", "--num_train_epochs", "2"),
        **RECIPE_DATA,
    ),
    Row(
        "stopwords-epochs4",
        "more data + 1 BM25 negative, stopwords dropped, 4 epochs",
        (*NEG1, "--num_train_epochs", "4"),
        **RECIPE_DATA,
    ),
    Row(
        "stopwords-epochs6",
        "more data + 1 BM25 negative, stopwords dropped, 6 epochs",
        (*NEG1, "--num_train_epochs", "6"),
        **RECIPE_DATA,
    ),
    Row(
        "stopwords-epochs10",
        "more data + 1 BM25 negative, stopwords dropped, 10 epochs",
        (*NEG1, "--num_train_epochs", "10"),
        **RECIPE_DATA,
    ),
    Row(
        "stopwords-epochs10-lr2e-3",
        "the recipe at learning rate 2e-3",
        (*NEG1, "--num_train_epochs", "10"),
        learning_rate=2e-3,
        **RECIPE_DATA,
    ),
    Row(
        "stopwords-epochs4-finetune",
        "stopwords-epochs4 + fine-tuned GloVe",
        (*NEG1, "--num_train_epochs", "4", *FINETUNE),
        **RECIPE_DATA,
    ),
    # Learning rate and passage length, 1 epoch on the recipe data, stopwords dropped
    Row("lr2e-3", "stopwords row at learning rate 2e-3", NEG1, learning_rate=2e-3, **RECIPE_DATA),
    len64_row("len64", "lr2e-3 row with passages cut at 64 tokens (1.6% of their tokens)", lr=2e-3),
    *[
        len64_row(f"len64-lr{lr}", f"len64 row at learning rate {lr}", lr=float(lr))
        for lr in ("4e-3", "8e-3", "1.6e-2", "3.2e-2")
    ],
    len64_row(
        "len64-h256",
        "len64 row with 256 hidden units per direction",
        "--hidden_size",
        "256",
        lr=2e-3,
    ),
    len64_row(
        "len64-lr4e-3-h64",
        "len64-lr4e-3 row with 64 hidden units per direction, projected to 256",
        "--hidden_size",
        "64",
        "--output_dim",
        "256",
        lr=4e-3,
    ),
    # Learning rate 8e-3, passages cut at 64 tokens, several epochs
    len64_row("len64-lr8e-3-epochs3", "len64-lr8e-3 row, 3 epochs", *EPOCHS3),
    len64_row(
        "len64-lr8e-3-epochs3-dropout0.1",
        "len64-lr8e-3 row, 3 epochs, dropout 0.1 on the word vectors",
        *EPOCHS3,
        "--dropout",
        "0.1",
    ),
    len64_row(
        "len64-lr8e-3-epochs3-neg3", "len64-lr8e-3 row, 3 epochs, 3 BM25 negatives", *EPOCHS3, *NEG3
    ),
    len64_row(
        "len64-lr8e-3-epochs3-neg3-batch128",
        "len64-lr8e-3 row, 3 epochs, 3 BM25 negatives, batch 128",
        *EPOCHS3,
        *NEG3,
        "--per_device_train_batch_size",
        "128",
    ),
    len64_row(
        "len64-lr8e-3-epochs3-distill",
        f"len64-lr8e-3 row, 3 epochs, {DISTILL_HELP}",
        *EPOCHS3,
        teacher=True,
    ),
    len64_row("len64-lr8e-3-epochs6", "len64-lr8e-3 row, 6 epochs", *EPOCHS6),
    len64_row(
        "len64-lr8e-3-epochs6-distill",
        f"len64-lr8e-3 row, 6 epochs, {DISTILL_HELP}",
        *EPOCHS6,
        teacher=True,
    ),
    # Third round: pooling and depth, then the recipe with attention pooling
    len64_row(
        "len64-lr8e-3-layers2", "len64-lr8e-3 row, 2 stacked GRU layers", "--num_layers", "2"
    ),
    attention_row("len64-lr8e-3-attention", "len64-lr8e-3 row, attention pooling"),
    attention_row(
        "len64-lr8e-3-attention-t0.1",
        "len64-lr8e-3-attention row, temperature 0.1",
        "--temperature",
        "0.1",
    ),
    attention_row(
        "len64-lr1.6e-2-attention", "len64-lr8e-3-attention row at learning rate 1.6e-2", lr=1.6e-2
    ),
    attention_row(
        "len64-lr8e-3-attention-lstm",
        "len64-lr8e-3-attention row with LSTM towers",
        "--rnn_type",
        "lstm",
    ),
    attention_row(
        "len64-lr8e-3-attention-finetune", "len64-lr8e-3-attention row, GloVe fine-tuned", *FINETUNE
    ),
    attention_row(
        "len64-lr8e-3-epochs3-neg3-attention",
        f"len64-lr8e-3 row, {ATTENTION_RECIPE_HELP}",
        *EPOCHS3,
        *NEG3,
    ),
    attention_row(
        "len64-lr8e-3-epochs3-neg3-attention-h64",
        f"len64-lr8e-3 row, {ATTENTION_RECIPE_HELP}, 64 hidden units per direction projected "
        "to 256",
        *EPOCHS3,
        *NEG3,
        "--hidden_size",
        "64",
        "--output_dim",
        "256",
    ),
    attention_row(
        "len64-lr8e-3-epochs3-neg3-attention-finetune",
        f"len64-lr8e-3 row, {ATTENTION_RECIPE_HELP}, GloVe fine-tuned",
        *EPOCHS3,
        *NEG3,
        *FINETUNE,
    ),
    attention_row(
        "len64-lr8e-3-epochs3-neg3-attention-finetune-pruned",
        f"len64-lr8e-3 row, {ATTENTION_RECIPE_HELP}, GloVe fine-tuned and pruned to the training "
        "words + the 20k most frequent",
        *EPOCHS3,
        *NEG3,
        *FINETUNE,
        "--prune_vocab",
        "true",
    ),
    attention_row(
        "len64-lr8e-3-epochs6-neg3-attention",
        "len64-lr8e-3 row, 6 epochs, 3 BM25 negatives, attention pooling",
        *EPOCHS6,
        *NEG3,
    ),
    attention_row(
        "len64-lr8e-3-epochs3-neg3-attention-distill",
        f"len64-lr8e-3 row, {ATTENTION_RECIPE_HELP}, {DISTILL_HELP}",
        *EPOCHS3,
        *NEG3,
        teacher=True,
    ),
    attention_row(
        "len64-lr8e-3-attention-unidirectional",
        "len64-lr8e-3-attention row, one direction (128 units)",
        bidirectional=False,
    ),
    # Fourth round: term weights learned from the token states, as a hashed bag of words
    *(
        lexical_row(
            f"len64-lr8e-3-attention-lexical{buckets}",
            f"len64-lr8e-3-attention row + a {buckets}-bucket lexical part"
            + (" (the recipe with two directions)" if buckets == 4096 else ""),
            buckets=buckets,
        )
        for buckets in (1024, 4096, 16384)
    ),
    lexical_row(
        "len64-lr4e-3-attention-lexical4096",
        "len64-lr8e-3-attention-lexical4096 at learning rate 4e-3",
        lr=4e-3,
    ),
    lexical_row(
        "len64-lr8e-3-neg3-attention-lexical4096",
        "len64-lr8e-3-attention-lexical4096 with 3 BM25 negatives",
        *NEG3,
    ),
    lexical_row(
        "len64-lr8e-3-attention-lexical4096-t0.1",
        "len64-lr8e-3-attention-lexical4096 at temperature 0.1",
        "--temperature",
        "0.1",
    ),
    lexical_row(
        "len64-lr8e-3-attention-lexical4096-unidirectional",
        "the recipe: len64-lr8e-3-attention-lexical4096 with one direction (128 units)",
        bidirectional=False,
    ),
    *(
        lexical_row(
            f"len64-lr8e-3-epochs3-neg3-attention-lexical{buckets}",
            f"len64-lr8e-3 row, {ATTENTION_RECIPE_HELP}, a {buckets}-bucket lexical part",
            *EPOCHS3,
            *NEG3,
            buckets=buckets,
        )
        for buckets in (1024, 4096)
    ),
    Row(
        "distill",
        "stopwords row + distillation from all-MiniLM-L6-v2 (weight 1, teacher temperature 0.05)",
        NEG1,
        teacher=True,
        **RECIPE_DATA,
    ),
    Row(
        "distill-w3",
        "stopwords row + distillation, weight 3, teacher temperature 0.1",
        (*NEG1, *DISTILL_W3),
        teacher=True,
        **RECIPE_DATA,
    ),
    Row(
        "distill-w3-finetune",
        "distill-w3 + fine-tuned GloVe",
        (*NEG1, *DISTILL_W3, *FINETUNE),
        teacher=True,
        **RECIPE_DATA,
    ),
]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", default="all", help="Comma-separated row names, or 'all'.")
    parser.add_argument("--list", action="store_true", help="Print the rows and exit.")
    parser.add_argument("--data_dir", default=str(MSMARCO_DIR), help="MS MARCO subsets.")
    parser.add_argument("--work_dir", default="results/ablation", help="Runs, data, results.json.")
    parser.add_argument("--output", default="results/ablation.md", help="Markdown table path.")
    parser.add_argument("--epochs", type=float, default=1.0, help="Epochs of every row's run.")
    parser.add_argument("--seed", type=int, default=0, help="Training seed of every row.")
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch/OpenMP threads of the training runs (1 is much faster on a loaded machine).",
    )
    parser.add_argument("--force", action="store_true", help="Rerun rows already in results.")
    parser.add_argument("--keep_checkpoints", action="store_true", help="Keep each run's model.")
    parser.add_argument(
        "--extra_args", default="", help="Flags appended to every train.py call (quoted)."
    )
    return parser.parse_args(argv)


def training_file(row: Row, data_dir: Path, work_dir: Path) -> Path:
    """The row's canonical parquet, built once and reused by every row with the same data."""
    name = "+".join(row.sources) + ("+bm25neg" if row.mined_negatives else "")
    path = work_dir / "data" / f"{name}.parquet"
    if path.exists():
        return path
    table = load_training_table(data_dir, row.sources)
    if row.mined_negatives:
        started = time.perf_counter()
        corpus = read_tsv_collection(data_dir / "corpus.tsv")
        table = mine_bm25_negatives(table, corpus.texts)
        logger.info("BM25 negatives mined in %.0f s", time.perf_counter() - started)
    save_canonical(table, path)
    return path


def ensure_teacher(train_file: Path, data_dir: Path) -> Path:
    """The teacher vectors of a training table (all-MiniLM-L6-v2), built once next to it."""
    import pyarrow.parquet as pq

    from data_prep.msmarco import load_msmarco
    from data_prep.teacher import build_teacher_table, teacher_path
    from modeling.retrieval.baselines import MiniLMEncoder

    path = teacher_path(train_file)
    if not path.exists():
        corpus = read_tsv_collection(data_dir / "corpus.tsv")
        teacher = build_teacher_table(
            load_msmarco(str(train_file)), MiniLMEncoder(), extra_passages=corpus.texts
        )
        pq.write_table(teacher, path)
    return path


def train_row(row: Row, train_file: Path, run_dir: Path, args: argparse.Namespace) -> dict:
    """Runs train.py for one row; returns its train_summary.json."""
    settings = ["--num_negatives", "0"]  # rows that draw negatives say so in their flags
    settings += ["--learning_rate", str(row.learning_rate)]
    settings += ["--passage_max_length", str(row.passage_max_length)]
    settings += ["--pooling", row.pooling, "--lexical_buckets", str(row.lexical_buckets)]
    settings += ["--bidirectional", str(row.bidirectional).lower()]
    settings += ["--drop_stopwords", "false"] if row.keep_stopwords else []
    if row.teacher:
        teacher = ensure_teacher(train_file, Path(args.data_dir))
        settings += ["--teacher_file", str(teacher), "--teacher_scores", "none"]  # one teacher
    command = [
        sys.executable, str(REPO / "scripts/train.py"),
        "--train_file", str(train_file), "--output_dir", str(run_dir),
        "--num_train_epochs", str(args.epochs), "--seed", str(args.seed),
        "--save_strategy", "no", "--disable_tqdm", "true", "--wandb", "disabled",
        "--logging_steps", "50", "--report_to", "none",
        *settings, *row.args, *args.extra_args.split(),
    ]  # fmt: skip
    env = dict(os.environ)
    if args.threads:
        env["OMP_NUM_THREADS"] = env["MKL_NUM_THREADS"] = str(args.threads)
    logger.info("Training %s: %s", row.name, " ".join(command[2:]))
    subprocess.run(command, check=True, env=env, cwd=REPO)
    return json.loads((run_dir / "train_summary.json").read_text())


def format_table(results: dict[str, dict], rows: list[Row]) -> str:
    """Markdown: setting, what it changes, the two metrics, train time and pairs/s."""
    lines = [
        "| setting | change | dev600-rerank MRR@10 | DL19 nDCG@10 | train time (s) | pairs/s |",
        "|---|---|---|---|---|---|",
    ]
    helps = {row.name: row.help for row in rows}
    for name, result in results.items():
        cells = [f"{result[key]:.3f}" for key in KEYS]
        lines.append(
            f"| {name} | {helps.get(name, result.get('help', ''))} | {' | '.join(cells)} | "
            f"{result['train_time_s']:.0f} | {result['pairs_per_s']:.0f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, dict]:
    args = parse_args(argv)
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level="INFO")
    logging.getLogger("bm25s").setLevel(logging.WARNING)
    if args.list:
        for row in ROWS:
            print(f"{row.name:16} {row.help}")
        return {}
    names = [row.name for row in ROWS] if args.rows == "all" else args.rows.split(",")
    by_name = {row.name: row for row in ROWS}
    unknown = [name for name in names if name not in by_name]
    if unknown:
        raise ValueError(f"Unknown row(s) {unknown}; --list shows them.")
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)

    # 1. Evaluation tasks, loaded once; earlier results kept
    data_dir, work_dir = Path(args.data_dir), Path(args.work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    results_path = work_dir / "results.json"
    results = json.loads(results_path.read_text()) if results_path.exists() else {}
    tasks = load_tasks(data_dir, TASKS)

    # 2. Train and evaluate each row
    for name in names:
        row = by_name[name]
        if name in results and not args.force:
            logger.info("%s: already in %s (use --force to rerun)", name, results_path)
            continue
        run_dir = work_dir / "runs" / name
        summary = train_row(row, training_file(row, data_dir, work_dir), run_dir, args)
        scores = evaluate_system(
            TwoTowerEncoder(run_dir), tasks, throughput_passages=0, progress_bar=False
        )
        results[name] = {
            **{key: scores[key] for key in KEYS},
            "help": row.help,
            "train_time_s": summary["train"]["train_runtime"],
            "pairs_per_s": summary["train"].get("train_pairs_per_second", 0.0),
            "train_queries": summary.get("train_queries"),
            "args": list(row.args) + args.extra_args.split(),
            "keep_stopwords": row.keep_stopwords,
            "learning_rate": row.learning_rate,
            "passage_max_length": row.passage_max_length,
            "pooling": row.pooling,
            "lexical_buckets": row.lexical_buckets,
            "bidirectional": row.bidirectional,
            "teacher": row.teacher,
            "sources": list(row.sources),
            "epochs": float(summary["train"].get("epoch", args.epochs)),
            "threads": args.threads,
            "load_average": os.getloadavg()[0],
        }
        results_path.write_text(json.dumps(results, indent=2) + "\n")
        logger.info("%s: %s", name, {key: round(scores[key], 4) for key in KEYS})
        if not args.keep_checkpoints:
            for path in run_dir.glob("*.safetensors"):
                path.unlink()

    # 3. Report
    table = format_table(results, ROWS)
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(table + "\n")
    print(table)
    return results


if __name__ == "__main__":
    main()
