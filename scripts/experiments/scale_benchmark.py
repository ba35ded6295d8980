"""Scale benchmark: wall time and peak memory of each pipeline stage at MS MARCO-like sizes.

Synthetic inputs are resampled from the real files in ../shared/data/msmarco (never invented
text): ``--rows`` v2.1-layout training rows (a real query; ten real corpus.tsv passages, one of
them selected, none in a ``--no_positive_share`` of rows) and a corpus of ``--passages`` real
passages under new ids. Each stage runs the project's own script in a fresh child process:

- prepare_data: ``scripts/prepare_data.py`` on the v2.1 jsonl (streams it to parquet);
- train start-up: ``scripts/train.py`` on that parquet (memory-mapped), the recipe's model, two
  steps (``--max_steps 2``), its before/after evaluation on ~256 held-out queries;
- index build: ``scripts/search.py build`` with an untrained checkpoint of the recipe's shape
  (GloVe 50d, one GRU direction, the recipe's lexical buckets), ``--build_processes`` CPU processes;
- query batch: ``scripts/search.py query`` with ``--queries`` real queries, exact top-10.

CPU time (user + system, all processes of the stage) is reported beside wall time: on shared
cores it says what the work costs, while wall time also says how busy the machine was.
Peak memory is the largest sum of the resident sets of the stage's process tree, polled every
50 ms, and the largest single process's peak (``getrusage`` of a wrapper's children). Resident
sets count memory-mapped file pages that were read. Every stage also runs at a small baseline size
(``--baseline_rows``/``--baseline_passages``), and the table ends with the straight line through
both sizes extended to full MS MARCO v2.1 (808,731 training rows, 8.8M passages), so fixed costs
(imports, the GloVe vocabulary, the model) are not multiplied; without a smaller baseline the
extrapolation is proportional.

    python scripts/experiments/scale_benchmark.py                       # 1M rows, 1M passages
    python scripts/experiments/scale_benchmark.py --rows 300 --passages 500 --work_dir /tmp/s

Deliberately left out: GPU runs and several training processes (one process is measured).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FULL_ROWS = 808_731  # MS MARCO v2.1 train rows
FULL_PASSAGES = 8_841_823  # MS MARCO passage collection
STAGES = ("prepare_data", "train start-up", "index build", "query batch")
ROW_STAGES = ("prepare_data", "train start-up")  # sized by --rows; the others by --passages
HELD_OUT_QUERIES = 256  # enough for the evaluation's 64-query batches, quick to score

logger = logging.getLogger("scale_benchmark")

# Runs a command, polls its process tree's total resident set, reports both peaks as JSON.
WRAPPER = r"""
import json, os, resource, subprocess, sys, time
def tree_rss_kb(root):
    children = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(pid))
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        todo += children.get(pid, [])
        try:
            with open(f"/proc/{pid}/status") as f:
                total += next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))
        except (OSError, StopIteration):
            pass
    return total
out, log = sys.argv[1], open(sys.argv[2], "w")
start, peak = time.perf_counter(), 0
child = subprocess.Popen(sys.argv[3:], stdout=log, stderr=subprocess.STDOUT)
while child.poll() is None:
    peak = max(peak, tree_rss_kb(child.pid))
    time.sleep(0.05)
wall = time.perf_counter() - start
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
json.dump({"rc": child.returncode, "wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime,
           "tree_peak_mb": peak / 1024, "process_peak_mb": usage.ru_maxrss / 1024}, open(out, "w"))
"""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000, help="v2.1 training rows.")
    parser.add_argument("--passages", type=int, default=1_000_000, help="Corpus passages.")
    parser.add_argument("--queries", type=int, default=1000, help="Queries in the query batch.")
    parser.add_argument("--baseline_rows", type=int, default=1000, help="Small run's rows.")
    parser.add_argument("--baseline_passages", type=int, default=1000, help="Small run's corpus.")
    parser.add_argument("--no_positive_share", type=float, default=0.05, help="Rows unselected.")
    parser.add_argument("--build_processes", type=int, default=2, help="Index build processes.")
    parser.add_argument("--data_dir", default=str(REPO.parent / "shared/data/msmarco"))
    parser.add_argument("--work_dir", default=None, help="Default: a new temporary folder.")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", default=None, help="Also write the results as JSON here.")
    args = parser.parse_args(argv)
    if args.rows < 150 or args.passages < 10 or args.queries < 1:
        # 150 rows: two 64-query batches (one to train, one held out) after unselected rows.
        parser.error("--rows must be >= 150, --passages >= 10 and --queries >= 1.")
    return args


def main(argv: list[str] | None = None) -> list[dict]:
    args = parse_args(argv)
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level="INFO")
    work = Path(args.work_dir or tempfile.mkdtemp(prefix="scale_benchmark_"))
    queries, passages = real_texts(Path(args.data_dir))
    checkpoint = save_untrained_recipe_model(work / "untrained")
    baseline = None
    if args.baseline_rows < args.rows and args.baseline_passages < args.passages:
        small = (args.baseline_rows, args.baseline_passages)
        baseline = run_stages(args, work / "baseline", small, queries, passages, checkpoint)
    results = run_stages(
        args, work / "main", (args.rows, args.passages), queries, passages, checkpoint
    )
    print(markdown_table(results, baseline, args))
    if args.output:
        Path(args.output).write_text(json.dumps({"main": results, "baseline": baseline}, indent=1))
    return results


def run_stages(args, work: Path, sizes, queries, passages, checkpoint) -> list[dict]:
    """Writes inputs of ``sizes = (rows, passages)`` into ``work`` and measures every stage."""
    rows, corpus_size = sizes
    work.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "HF_DATASETS_CACHE": str(work / "datasets_cache"),
        "WANDB_MODE": "disabled",
    }
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))

    # 1. Inputs resampled from the real data (not timed)
    rng = random.Random(args.seed)
    write_v21_rows(work / "rows.jsonl", rows, queries, passages, args.no_positive_share, rng)
    write_corpus(work / "corpus.tsv", corpus_size, passages, rng)
    (work / "queries.txt").write_text(
        "".join(f"{rng.choice(queries)}\n" for _ in range(args.queries))
    )

    # 2. The stages, each in a fresh process tree
    python = [sys.executable]
    eval_fraction = min(0.5, HELD_OUT_QUERIES / rows)
    launch = python
    if args.build_processes > 1:
        launch = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu",
                  "--num_processes", str(args.build_processes), "--main_process_port",
                  str(29_500 + os.getpid() % 1000)]  # fmt: skip
    commands = {
        "prepare_data": [*python, "scripts/prepare_data.py", "--source", work / "rows.jsonl",
                         "--output", work / "train.parquet", "--overwrite"],
        "train start-up": [*python, "scripts/train.py", "--train_file", work / "train.parquet",
                           "--output_dir", work / "trained", "--max_steps", "2",
                           "--eval_fraction", str(eval_fraction), "--wandb", "disabled",
                           "--save_strategy", "no", "--disable_tqdm", "true", "--use_cpu", "true"],
        "index build": [*launch, "scripts/search.py", "build", "--model", checkpoint, "--corpus",
                        work / "corpus.tsv", "--index_dir", work / "index", "--overwrite",
                        "--no_texts"],
        "query batch": [*python, "scripts/search.py", "query", "--index_dir", work / "index",
                        "--queries_file", work / "queries.txt", "--top_k", "10", "--format",
                        "jsonl"],
    }  # fmt: skip
    results = []
    for stage in STAGES:
        stage_env = {**env, "ACCELERATE_USE_CPU": "1"} if stage == "index build" else env
        result = measure(stage, [str(part) for part in commands[stage]], work, stage_env)
        result.update(stage=stage, size=rows if stage in ROW_STAGES else corpus_size)
        results.append(result)
        if result["rc"] != 0:
            log = (work / f"{slug(stage)}.log").read_text()[-3000:]
            raise RuntimeError(f"Stage {stage} failed (exit {result['rc']}):\n{log}")
    return results


def real_texts(data_dir: Path) -> tuple[list[str], list[str]]:
    """Real training queries (train_pairs.jsonl) and real passages (corpus.tsv)."""
    with open(data_dir / "train_pairs.jsonl", encoding="utf-8") as handle:
        queries = sorted({json.loads(line)["query"] for line in handle})
    with open(data_dir / "corpus.tsv", encoding="utf-8") as handle:
        passages = [line.rstrip("\n").split("\t", 1)[1] for line in handle]
    return queries, passages


def write_v21_rows(path, n, queries, passages, no_positive_share, rng) -> None:
    with open(path, "w", encoding="utf-8") as out:
        for query_id in range(n):
            texts = rng.sample(passages, 10)
            selected = [0] * 10
            if rng.random() >= no_positive_share:
                selected[rng.randrange(10)] = 1
            row = {
                "query_id": query_id,
                "query": rng.choice(queries),
                "passages": {"is_selected": selected, "passage_text": texts, "url": [""] * 10},
                "answers": [],
                "query_type": "DESCRIPTION",
            }
            out.write(json.dumps(row, ensure_ascii=False) + "\n")


def write_corpus(path, n, passages, rng) -> None:
    with open(path, "w", encoding="utf-8") as out:
        for pid in range(n):
            out.write(f"{pid}\t{rng.choice(passages)}\n")


def save_untrained_recipe_model(path: Path) -> Path:
    """The recipe's architecture (``ModelArguments`` defaults), untrained, full GloVe vocabulary."""
    import torch

    from data_prep.glove import load_glove, model_from_glove
    from modeling import TwoTowerTokenizerFast
    from modeling.training.arguments import ModelArguments

    recipe = ModelArguments()
    vocab = load_glove(recipe.glove, recipe.glove_dim)
    torch.manual_seed(0)
    model = model_from_glove(vocab, **recipe.config_kwargs())
    model.save_pretrained(path)
    TwoTowerTokenizerFast.from_vocabulary(
        vocab.words,
        drop_stopwords=recipe.drop_stopwords,
        query_max_length=recipe.query_max_length,
        passage_max_length=recipe.passage_max_length,
    ).save_pretrained(path)
    return path


def slug(stage: str) -> str:
    return stage.replace(" ", "_").replace("-", "_")


def measure(stage: str, command: list[str], work: Path, env: dict) -> dict:
    """Runs ``command`` (cwd: the repository) under the polling wrapper; its results."""
    logger.info("Stage %s: %s", stage, " ".join(command))
    out, log = work / f"{slug(stage)}.json", work / f"{slug(stage)}.log"
    subprocess.run(
        [sys.executable, "-c", WRAPPER, str(out), str(log), *command], cwd=REPO, env=env, check=True
    )
    result = json.loads(out.read_text())
    logger.info("Stage %s: %.1f s, peak %.0f MB", stage, result["wall_s"], result["tree_peak_mb"])
    return result


def markdown_table(results: list[dict], baseline: list[dict] | None, args) -> str:
    """The results as markdown, with each stage extrapolated to full MS MARCO."""
    lines = [
        f"Scale benchmark: {args.rows:,} v2.1 rows, {args.passages:,} passages, "
        f"{args.queries:,} queries; index built by {args.build_processes} process(es).",
        "",
        "| stage | size | wall s | CPU s | rate /s (per CPU s) | peak RSS MB (tree) "
        "| peak MB (largest process) | full MS MARCO: wall s | RSS MB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for i, r in enumerate(results):
        full = FULL_ROWS if r["stage"] in ROW_STAGES else FULL_PASSAGES
        small = baseline[i] if baseline else None
        done = args.queries if r["stage"] == "query batch" else r["size"]
        lines.append(
            f"| {r['stage']} | {r['size']:,} | {r['wall_s']:.1f} | {r['cpu_s']:.1f} "
            f"| {done / r['wall_s']:,.0f} ({done / max(r['cpu_s'], 1e-9):,.0f}) "
            f"| {r['tree_peak_mb']:,.0f} | {r['process_peak_mb']:,.0f} "
            f"| {extend(r, small, 'wall_s', full):,.0f} "
            f"| {extend(r, small, 'tree_peak_mb', full):,.0f} |"
        )
    how = (
        f"the line through the baseline run ({baseline[0]['size']:,} rows, "
        f"{baseline[-1]['size']:,} passages) and this one"
        if baseline
        else "proportional to size (no smaller baseline run)"
    )
    lines += [
        "",
        f"Full MS MARCO: {FULL_ROWS:,} rows (prepare_data, train start-up) and {FULL_PASSAGES:,} "
        f"passages (index, queries), by {how}. Rate: rows, passages or queries per second.",
    ]
    return "\n".join(lines)


def extend(result: dict, small: dict | None, key: str, full: int) -> float:
    """``result[key]`` extended linearly to size ``full`` (through ``small`` when given)."""
    if small is None or small["size"] >= result["size"]:
        return result[key] * full / result["size"]
    slope = (result[key] - small[key]) / (result["size"] - small["size"])
    return result[key] + max(0.0, slope) * (full - result["size"])


if __name__ == "__main__":
    main()
