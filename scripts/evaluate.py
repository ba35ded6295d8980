"""Evaluates two-tower checkpoints next to BM25, a GloVe average and all-MiniLM-L6-v2.

Tasks (real MS MARCO subsets, read from --data_dir):
  dev600-rerank    540 dev.small queries rank their own 20 BM25 candidates     MRR@10
  dev600-retrieve  the same queries retrieve from corpus.tsv (38,877 passages)  MRR@10, R@100
  dl19-pool        43 TREC DL 2019 queries rank the 14,581-passage pool        nDCG@10 (graded)

Prints a markdown table (systems x metrics, plus passages encoded per second on this machine)
and writes {system: {"task/metric": value, "passages_per_s": value}} as JSON.

MiniLM encodes ~46 passages/s on 2 CPU cores: its passage embeddings are cached on disk
(--cache_dir, keyed by model and exact passage texts), so the first run takes ~20 minutes and
later runs seconds. Leave it out with --baselines bm25,glove-avg.

model2vec (a static model distilled from MiniLM, the fast peer) is read from
~/.cache/two_tower_eval/model2vec-minilm, built once by scripts/experiments/distill_model2vec.py.
--beir_dir adds the tasks of a BEIR-format folder, one per qrels split (e.g. scifact-train from
../shared/data/beir_scifact): full-corpus retrieval, nDCG@10 and R@100; a two-tower model reads
up to 256 tokens of their documents unless --passage_max_length / --passage_window say otherwise.

--hybrid adds a row per model: its ranking fused with BM25's, by default adding each one's
z-scores per query (--fusion zscore; --fusion rrf: reciprocal rank fusion, k=60).
--halves adds a row per model for each part of its score alone (pooled, lexical).

    python scripts/evaluate.py --model checkpoints/two_tower_final --output results/eval.json
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

from data_prep import MSMARCO_DIR
from data_prep.glove import load_glove
from modeling.cli import non_negative_int, positive_int, run_script
from modeling.evaluation.runner import (
    FUSION_LABELS,
    FUSIONS,
    PARTS,
    dense_runs_by_part,
    evaluate_system,
    format_table,
    fuse_runs,
    score_runs,
    system_runs,
)
from modeling.evaluation.tasks import (
    TASK_NAMES,
    load_beir_tasks,
    load_tasks,
    with_passage_encoding,
)
from modeling.retrieval.baselines import GLOVE_AVG_NAMES, MINILM_NAMES
from modeling.retrieval.encoders import DEFAULT_CACHE_DIR, EmbeddingCache
from modeling.retrieval.loading import load_encoder

logger = logging.getLogger("evaluate")
BASELINES = ("bm25", "glove-avg", "minilm", "model2vec")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--model",
        action="append",
        default=[],
        metavar="PATH",
        help="A two-tower checkpoint directory (save_pretrained output), or onnx:PATH / "
        "onnx-int8:PATH for its ONNX export (scripts/export_onnx.py); repeat for several.",
    )
    parser.add_argument(
        "--data_dir",
        default=str(MSMARCO_DIR),
        help="The MS MARCO subsets directory (default: %(default)s).",
    )
    parser.add_argument(
        "--tasks",
        default=",".join(TASK_NAMES),
        help="Comma-separated MS MARCO tasks among %(default)s; 'none' for none.",
    )
    parser.add_argument(
        "--beir_dir",
        action="append",
        default=[],
        metavar="DIR",
        help="A BEIR-format folder (corpus.jsonl, queries.jsonl, qrels/<split>.tsv); repeatable.",
    )
    parser.add_argument(
        "--passage_max_length",
        type=int,
        default=None,
        help="Tokens a two-tower model reads of each passage or window, on every task "
        "(default: 256 on BEIR tasks, the model's config on MS MARCO's).",
    )
    parser.add_argument(
        "--passage_window",
        default=None,
        metavar="WORDS[:STRIDE]",
        help="Encode passages as windows of WORDS words every STRIDE (default WORDS/2) words, "
        "each passage scoring its best window, on every task; 'none' encodes them whole "
        "(default: passages whole).",
    )
    parser.add_argument(
        "--baselines",
        default=",".join(BASELINES),
        help="Comma-separated reference systems among %(default)s; 'none' for none.",
    )
    parser.add_argument("--output", default=None, help="Write the results JSON here.")
    parser.add_argument(
        "--cache_dir",
        default=str(DEFAULT_CACHE_DIR),
        help="On-disk MiniLM passage-embedding cache (default: %(default)s).",
    )
    parser.add_argument("--no_cache", action="store_true", help="Encode everything afresh.")
    parser.add_argument(
        "--throughput_passages",
        type=non_negative_int,
        default=1000,
        help="Passages in the speed sample (first of the first collection); 0 skips it.",
    )
    parser.add_argument(
        "--batch_size",
        type=positive_int,
        default=None,
        help="Texts per forward pass (model default).",
    )
    parser.add_argument("--device", default=None, help="cpu, cuda, ... (default: cuda if any).")
    parser.add_argument(
        "--hybrid",
        action="store_true",
        help="Also score each --model fused with BM25 (see --fusion; nothing tuned).",
    )
    parser.add_argument(
        "--fusion",
        choices=sorted(FUSIONS),
        default="zscore",
        help="How --hybrid fuses: zscore adds each system's per-query z-scores (equal weights); "
        "rrf is reciprocal rank fusion (k=60).",
    )
    parser.add_argument(
        "--halves",
        action="store_true",
        help="Also score each --model by the pooled part and the lexical part of its score alone.",
    )
    args = parser.parse_args(argv)
    for spec in args.model:  # a mistyped path fails here, not after the tasks have loaded
        named = spec.lower() in MINILM_NAMES | GLOVE_AVG_NAMES
        if not named and not Path(spec).exists() and (spec.count("/") != 1 or spec[0] in "./"):
            parser.error(f"--model {spec}: no such checkpoint folder.")
    if not Path(args.data_dir).is_dir():
        parser.error(f"--data_dir {args.data_dir} does not exist: pass the MS MARCO subsets.")
    return args


def parse_window(value: str | None) -> tuple[int, int] | None | str:
    """``"64:32"`` -> (64, 32); ``"64"`` -> (64, 32); ``"none"`` -> None; None -> ``"keep"``."""
    if value is None:
        return "keep"
    if value.strip().lower() == "none":
        return None
    try:
        words, _, stride = value.partition(":")
        window = int(words), int(stride) if stride else max(1, int(words) // 2)
    except ValueError as err:
        raise ValueError(
            f"--passage_window {value!r}: pass WORDS[:STRIDE] (e.g. 64:32) or 'none'."
        ) from err
    if window[0] < 1 or not 1 <= window[1] <= window[0]:
        raise ValueError(f"--passage_window {value!r}: need WORDS >= 1 and 1 <= STRIDE <= WORDS.")
    return window


def main(argv: list[str] | None = None) -> dict[str, dict[str, float]]:
    args = parse_args(argv)
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level="INFO")

    # 1. Systems: checkpoints first, then the reference systems.
    baselines = [name.strip().lower() for name in args.baselines.split(",") if name.strip()]
    baselines = [] if baselines == ["none"] else baselines
    unknown = sorted(set(baselines) - set(BASELINES))
    if unknown:
        raise ValueError(f"Unknown baseline(s) {unknown}: choose from {list(BASELINES)} or 'none'.")
    systems = [*args.model, *baselines]
    if not systems:
        raise ValueError("Nothing to evaluate: pass --model PATH and/or --baselines.")

    # 2. Tasks: MS MARCO's, then each BEIR folder's, with any passage-encoding override.
    names = [name.strip() for name in args.tasks.split(",") if name.strip()]
    tasks = [] if names == ["none"] else load_tasks(args.data_dir, names)
    for beir_dir in args.beir_dir:
        tasks += load_beir_tasks(beir_dir)
    if not tasks:
        raise ValueError("No task: pass --tasks among the MS MARCO tasks and/or --beir_dir DIR.")
    tasks = with_passage_encoding(tasks, args.passage_max_length, parse_window(args.passage_window))
    for task in tasks:
        logger.info(
            "Task %s: %d queries, %d passages, %s; passages read %s, %s",
            task.name, len(task.queries), len(task.collection), ", ".join(task.metrics),
            task.passage_max_length or "up to the model's limit",
            f"in windows of {task.passage_window[0]} words every {task.passage_window[1]}"
            if task.passage_window else "whole",
        )  # fmt: skip
    cache = None if args.no_cache else EmbeddingCache(args.cache_dir)

    # 3. Evaluate each system in turn (one model in memory at a time).
    results: dict[str, dict[str, float]] = {}
    started = time.perf_counter()
    bm25 = system_runs("bm25", tasks) if args.hybrid else None  # ranked once, fused with each
    for spec in systems:
        if spec == "bm25":
            name, system = "BM25", "bm25"
        else:
            system = load_encoder(
                spec, batch_size=args.batch_size, device=args.device, glove=load_glove
            )
            name = system.name if system.name not in results else str(spec)
        parts = ("all",)
        if spec == "bm25":
            runs = bm25 or system_runs("bm25", tasks)
        else:
            if args.halves and spec in args.model:
                if system.lexical_buckets:
                    parts = PARTS
                else:
                    logger.warning("--halves: %s has no lexical part to split off.", name)
            by_part = dense_runs_by_part(system, tasks, parts, cache=cache)
            runs = by_part["all"]
        results[name] = evaluate_system(
            system, tasks, throughput_passages=args.throughput_passages, runs=runs
        )
        if args.hybrid and spec in args.model:
            fused = fuse_runs(runs, bm25, args.fusion)
            results[f"{name} + BM25 ({FUSION_LABELS[args.fusion]})"] = score_runs(fused, tasks)
        for part in parts[1:]:
            results[f"{name} ({part} part alone)"] = score_runs(by_part[part], tasks)
        del system, runs
    logger.info("All systems evaluated in %.0f s", time.perf_counter() - started)

    # 4. Report.
    if args.output:
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text(json.dumps(results, indent=2) + "\n")
        logger.info("Results written to %s", args.output)
    print(format_table(results))
    return results


if __name__ == "__main__":
    run_script(main)
