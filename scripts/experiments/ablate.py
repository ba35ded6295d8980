"""Runs ablation rows: trains each, evaluates it, and appends its figures to ablation_rows.toml.

The rows live in ``scripts/experiments/ablation_rows.toml`` (``ablation_rows.py`` reads it). Each
row trains ``scripts/train.py`` (a subprocess, exactly as a user runs it, in one process) with the
row's pinned flags, then scores the checkpoint with the evaluation code on dev600-rerank (MRR@10),
dev600-retrieve (R@100), dl19-pool (nDCG@10) and, out of domain, SciFact-train (nDCG@10: the
model, each half of its score alone, and fused with BM25) when ``--beir_dir`` exists. Training
tables are built by ``scripts/build_training_set.py`` once per data setting under ``--work_dir``
(the `recipe` row's is `make train`'s), distillation rows' teacher vectors too (10-12 min here
with corpus.tsv's MiniLM embeddings cached, more without). A row that already has figures for
``--seed`` is skipped unless ``--force`` (which adds another run).

    python scripts/experiments/ablate.py --list                    # the rows, what they change
    python scripts/experiments/ablate.py --rows recipe --seed 1 --threads 1
    python scripts/experiments/ablate.py --render RESULTS.md       # the table between the markers

Train time is wall-clock on this machine while it runs; compare it within one sitting only.
Flags beyond the row's are deliberately not taken: a run's figures always belong to its row.
"""

from __future__ import annotations

import argparse
import datetime
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

from ablation_rows import FIGURES, MARKERS, ROWS_FILE, AblationRows, append_run, load, render_into

from data_prep import MSMARCO_DIR
from data_prep.teacher import teacher_path
from modeling.evaluation.runner import (
    PARTS,
    bm25_runs,
    dense_runs_by_part,
    fuse_runs,
    score_runs,
)
from modeling.evaluation.tasks import load_beir_tasks, load_tasks
from modeling.retrieval.encoders import TwoTowerEncoder
from modeling.training.recipe import RECIPE

logger = logging.getLogger("ablate")
REPO = Path(__file__).resolve().parents[2]
TASKS = ("dev600-rerank", "dev600-retrieve", "dl19-pool")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", help="Comma-separated row names to run, or 'all'.")
    parser.add_argument("--list", action="store_true", help="Print the rows and exit.")
    parser.add_argument(
        "--render",
        metavar="FILE",
        help=f"Rewrite the table between {MARKERS[0]} and {MARKERS[1]} in FILE (after any runs).",
    )
    parser.add_argument("--rows_file", default=str(ROWS_FILE), help="The rows and their figures.")
    parser.add_argument("--data_dir", default=str(MSMARCO_DIR), help="MS MARCO subsets.")
    parser.add_argument(
        "--beir_dir",
        default=str(MSMARCO_DIR.parent / "beir_scifact"),
        help="A BEIR-format folder scored too (out of domain) when it exists; 'none' skips it.",
    )
    parser.add_argument("--work_dir", default="results/ablation", help="Tables and runs.")
    parser.add_argument("--seed", type=int, default=RECIPE.seed, help="Training seed.")
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch/OpenMP threads of the training runs (1 is much faster on a loaded machine).",
    )
    parser.add_argument("--force", action="store_true", help="Run rows measured at this seed.")
    parser.add_argument("--keep_checkpoints", action="store_true", help="Keep each run's model.")
    args = parser.parse_args(argv)
    if not (args.rows or args.list or args.render):
        parser.error("Name what to do: --rows a,b (or --rows all), --list or --render FILE.")
    return args


def training_table(data: dict, data_dir: Path, work_dir: Path) -> Path:
    """The row's training table (and its teacher vectors), built once per data setting."""
    pinned = {key: value for key, value in sorted(data.items()) if key != "teacher"}
    name = "".join(
        f"-{key}={'+'.join(value) if isinstance(value, list) else value}"
        for key, value in pinned.items()
    )
    path = work_dir / "data" / f"table{name}.parquet"
    build = [sys.executable, str(REPO / "scripts/build_training_set.py")]
    build += ["--data_dir", str(data_dir), "--output", str(path)]
    if "sources" in pinned:
        build += ["--sources", ",".join(pinned["sources"])]
    if "mined_negatives" in pinned:
        build += ["--negatives", str(pinned["mined_negatives"])]
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(build, check=True, cwd=REPO)
    if data.get("teacher") and not teacher_path(path).exists():
        subprocess.run([*build, "--reuse_table", "--teacher", "minilm"], check=True, cwd=REPO)
    return path


def train_command(
    table: AblationRows, name: str, train_file: Path, run_dir: Path, seed: int
) -> list[str]:
    """The train.py command of one row: the runner's fixed flags, then the row's pinned ones."""
    command = [
        sys.executable, str(REPO / "scripts/train.py"),
        "--train_file", str(train_file), "--output_dir", str(run_dir), "--seed", str(seed),
        "--save_strategy", "no", "--disable_tqdm", "true", "--wandb", "disabled",
        "--logging_steps", "50", "--report_to", "none",
        "--overwrite_output_dir",  # --force reruns a row into its earlier run's folder
    ]  # fmt: skip
    if table.data(name).get("teacher"):
        command += ["--teacher_file", str(teacher_path(train_file))]
    return command + table.train_args(name)


def run_row(table: AblationRows, name: str, tasks: dict, args: argparse.Namespace) -> dict:
    """Trains and evaluates one row; returns its run's figures."""
    work_dir = Path(args.work_dir)
    train_file = training_table(table.data(name), Path(args.data_dir), work_dir)
    run_dir = work_dir / "runs" / f"{name}-seed{args.seed}"
    command = train_command(table, name, train_file, run_dir, args.seed)
    env = dict(os.environ)
    if args.threads:
        env["OMP_NUM_THREADS"] = env["MKL_NUM_THREADS"] = str(args.threads)
    logger.info("Training %s: %s", name, " ".join(command[2:]))
    subprocess.run(command, check=True, env=env, cwd=REPO)
    summary = json.loads((run_dir / "train_summary.json").read_text())
    scores = score_row(TwoTowerEncoder(run_dir), tasks)
    if not args.keep_checkpoints:
        for path in run_dir.glob("*.safetensors"):
            path.unlink()
    return {
        "seed": args.seed,
        "machine": "local",
        "processes": 1,
        **{figure: round(scores[key], 4) for figure, key in FIGURES.items() if key in scores},
        "train_s": round(summary["train"]["train_runtime"], 1),
        "pairs_per_s": round(summary["train"]["train_pairs_per_second"], 1),
        "train_queries": summary["train_queries"],
        "threads": args.threads or 0,
        "load_average": round(os.getloadavg()[0], 1),
        "date": datetime.date.today().isoformat(),
    }


def score_row(encoder: TwoTowerEncoder, tasks: list) -> dict[str, float]:
    """The model's figures on ``tasks``, each part of its score alone (``"pooled:..."``,
    ``"lexical:..."``, where it has a lexical part) and fused with BM25 (``"fused:..."`` by
    reciprocal rank fusion, ``"zfused:..."`` by z-scores)."""
    parts = PARTS if encoder.lexical_buckets else ("all",)
    runs = dense_runs_by_part(encoder, tasks, parts, progress_bar=False)
    scores = {}
    for part, part_runs in runs.items():
        prefix = "" if part == "all" else f"{part}:"
        scores.update({prefix + k: v for k, v in score_runs(part_runs, tasks).items()})
    bm25 = bm25_runs(tasks)
    for method, prefix in (("rrf", "fused"), ("zscore", "zfused")):
        fused = fuse_runs(runs["all"], bm25, method)
        scores.update({f"{prefix}:{k}": v for k, v in score_runs(fused, tasks).items()})
    return scores


def load_row_tasks(data_dir: Path, beir_dir: str) -> list:
    """The MS MARCO tasks, and the BEIR folder's when it exists."""
    tasks = load_tasks(data_dir, TASKS)
    if beir_dir != "none" and Path(beir_dir).is_dir():
        tasks += load_beir_tasks(beir_dir)
    else:
        logger.info("No BEIR folder at %s: scoring MS MARCO only", beir_dir)
    return tasks


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level="INFO")
    logging.getLogger("bm25s").setLevel(logging.WARNING)

    # 1. The rows
    table = load(args.rows_file)
    if args.list:
        for row in table.rows.values():
            print(f"{row.name:50} {len(row.runs)} runs  {row.help}")
        return
    names = list(table.rows) if args.rows == "all" else args.rows.split(",") if args.rows else []
    for name in names:
        table.chain(name)  # unknown names fail before any training

    # 2. Train and evaluate each row not measured at this seed, appending its figures
    todo = []
    for name in names:
        if args.seed in [run.get("seed") for run in table[name].runs] and not args.force:
            logger.info("%s: measured at seed %d already (--force adds a run)", name, args.seed)
        else:
            todo.append(name)
    if todo and args.threads:
        import torch

        torch.set_num_threads(args.threads)
    tasks = load_row_tasks(Path(args.data_dir), args.beir_dir) if todo else []
    for name in todo:
        run = run_row(table, name, tasks, args)
        append_run(args.rows_file, name, run)
        table = load(args.rows_file)
        logger.info("%s: %s", name, {key: run[key] for key in FIGURES})

    # 3. The table
    if args.render:
        command = f"python scripts/experiments/ablate.py --render {args.render}"
        render_into(args.render, table, command)
        logger.info("Rendered the ablation table into %s", args.render)


if __name__ == "__main__":
    main()
