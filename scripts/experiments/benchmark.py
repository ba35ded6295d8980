"""Speed benchmark: our two-tower GloVe RNN next to its peers, side by side in one run.

Systems, on the same data and machine, with the same GloVe 6B 50d vectors, hidden size, max
lengths and batch size where they apply:
- ours: `TwoTowerModel` (the recipe's: one GRU direction of 128 units, attention pooling, a
  16,384-bucket lexical part, stored and searched sparse as `SearchIndex` does; frozen GloVe; the
  recipe's tokenizer, which drops stopwords and punctuation as st-lstm's does) trained by
  `TwoTowerTrainer` with InfoNCE at temperature 0.05, and the same model with an LSTM;
- st-lstm: a sentence-transformers model from its own modules, ``WordEmbeddings`` (its
  ``WhitespaceTokenizer`` over the same GloVe words, lower-cased) + ``LSTM`` (bidirectional
  2x128) + mean ``Pooling``, trained by ``SentenceTransformerTrainer`` with
  ``MultipleNegativesRankingLoss`` (scale 20 = temperature 0.05: the same objective);
- minilm: all-MiniLM-L6-v2 (encoding and search only);
- model2vec: a static model distilled from all-MiniLM-L6-v2, the peer a user picks for speed
  (encoding and search only; ``distill_model2vec.py`` builds it once; not in the default list).
- ours-gru-onnx, ours-gru-onnx-int8: ours-gru exported to ONNX (float32; int8 weights by dynamic
  quantisation) and run by onnxruntime (encoding and search only).

Measured: training throughput (query-positive pairs/s after warm-up steps), encoding throughput
(passages/s on the first corpus.tsv passages, queries/s on dev600 queries) with the share spent
tokenising, search latency per query (encode one query + exact top-10 over corpus.tsv and over a
synthetic 1M-vector index of the system's dimension; p50/p95) and peak memory (each system in a
fresh child process: peak RSS while training and while encoding). Timed work is interleaved in
rounds (ours, peer, ours, peer, ...) and the median round is reported, so load from other jobs
hits every system alike; ratios (ours / peer) are the result, absolute rates depend on the load.

    python scripts/experiments/benchmark.py                             # every default system
    python scripts/experiments/benchmark.py --train_steps 20 --rounds 5 \
        --output results/benchmark.json

Deliberately left out: GPU timings (run the same script on a GPU machine), approximate search.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from benchmark_systems import ENCODE_ONLY, OURS, PEER, System, build_system

from data_prep import MSMARCO_DIR
from modeling.configuration_two_tower import POOLINGS
from modeling.training.recipe import RECIPE

logger = logging.getLogger("benchmark")
REPO = Path(__file__).resolve().parents[2]
NOT_RATIOS = {"tokens_per_passage", "tokenize_share"}  # descriptive columns
PROBE_SETTINGS = (  # what a memory-probe child needs to repeat the parent's workload
    "data_dir", "batch_size", "encode_batch_size", "hidden_size", "query_max_length",
    "passage_max_length", "keep_stopwords", "pooling", "lexical_buckets", "bidirectional",
    "train_steps", "warmup_steps", "rounds", "passages", "minilm_passages", "queries", "threads",
)  # fmt: skip


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add = parser.add_argument
    add("--data_dir", default=str(MSMARCO_DIR), help="MS MARCO subsets (%(default)s).")
    add("--output", default="results/benchmark.json", help="Results JSON.")
    add("--markdown", default=None, help="Also write the markdown table here.")
    add(
        "--systems",
        default="ours-gru,ours-lstm,st-lstm,minilm,ours-gru-onnx,ours-gru-onnx-int8",
        help="Systems to measure (%(default)s; also ours-lstm-onnx, ours-lstm-onnx-int8, "
        "model2vec).",
    )
    add(
        "--batch_size",
        type=int,
        default=RECIPE.global_batch_size,
        help="Training pairs per step (all systems; default: the recipe's global batch).",
    )
    add("--encode_batch_size", type=int, default=128, help="Texts per encoding batch (all).")
    add(
        "--hidden_size",
        type=int,
        default=RECIPE.hidden_size,
        help="RNN units per direction (RNN systems; default: the recipe's).",
    )
    add(
        "--query_max_length",
        type=int,
        default=RECIPE.query_max_length,
        help="Query tokens kept (ours; default: the recipe's).",
    )
    add(
        "--passage_max_length",
        type=int,
        default=RECIPE.passage_max_length,
        help="Passage tokens kept (all systems; default: the recipe's, %(default)s).",
    )
    add("--keep_stopwords", action="store_true", help="Ours: keep stopwords and punctuation.")
    add(
        "--pooling",
        default=RECIPE.pooling,
        choices=POOLINGS,
        help="Ours: token pooling (default: the recipe's, %(default)s).",
    )
    add(
        "--lexical_buckets",
        type=int,
        default=RECIPE.lexical_buckets,
        help="Ours: sparse lexical part width (default: the recipe's, %(default)s; 0: none).",
    )
    add(
        "--bidirectional",
        choices=("true", "false"),
        default=str(RECIPE.bidirectional).lower(),
        help="Ours: read both ways (hidden_size units each) or one (default: the recipe's).",
    )
    add("--train_steps", type=int, default=4, help="Timed training steps per round.")
    add("--warmup_steps", type=int, default=2, help="Untimed steps before each round.")
    add("--rounds", type=int, default=5, help="Interleaved rounds; medians are reported.")
    add("--passages", type=int, default=600, help="corpus.tsv passages encoded per round.")
    add("--minilm_passages", type=int, default=64, help="Passages for MiniLM (one round).")
    add("--queries", type=int, default=600, help="dev600 queries encoded per round.")
    add("--latency_queries", type=int, default=50, help="Single queries timed for latency.")
    add("--synthetic_size", type=int, default=1_000_000, help="Synthetic index rows; 0 skips.")
    add("--threads", type=int, default=1, help="torch threads (1: fastest on a loaded box).")
    add("--no_memory", action="store_true", help="Skip the child processes measuring memory.")
    add("--real_corpus_index", action="store_true", help="Encode corpus.tsv for the latency.")
    add("--memory_probe", default=None, help=argparse.SUPPRESS)  # internal: "system:phase"
    return parser.parse_args(argv)


# 1. Data -------------------------------------------------------------------------------------


def load_data(args: argparse.Namespace) -> dict[str, list]:
    """Training pairs (one positive per query), corpus passages and dev600 queries."""
    from modeling.evaluation.tasks import read_tsv_collection

    data_dir = Path(args.data_dir)
    needed = args.batch_size * (args.train_steps + args.warmup_steps) * args.rounds
    pairs = []
    with open(data_dir / "train_pairs.jsonl", encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            pairs.append((row["query"], row["passage"]))
            if len(pairs) >= needed:
                break
    corpus = read_tsv_collection(data_dir / "corpus.tsv")
    with open(data_dir / "dev600_bm25top20.jsonl", encoding="utf-8") as handle:
        queries = [json.loads(line)["query"] for line in handle][: args.queries]
    return {"pairs": pairs, "corpus": corpus.texts, "queries": queries}


# 2. Measurements (the systems: benchmark_systems.py) ---------------------------------------------


class StepClock:
    """Trainer callback: time of each optimizer step's end."""

    def __init__(self):
        from transformers import TrainerCallback

        clock = self

        class Callback(TrainerCallback):
            def on_train_begin(self, args, state, control, **kwargs):
                clock.ends = [time.perf_counter()]

            def on_step_end(self, args, state, control, **kwargs):
                clock.ends.append(time.perf_counter())

        self.callback = Callback()
        self.ends: list[float] = []


def training_rounds(systems: list[System], data, args) -> dict[str, list[float]]:
    """Pairs/s per system and round (interleaved), counting the steps after warm-up."""
    rates: dict[str, list[float]] = {s.name: [] for s in systems}
    per_round = args.batch_size * (args.train_steps + args.warmup_steps)
    for number in range(args.rounds):
        pairs = data["pairs"][number * per_round : (number + 1) * per_round]
        for system in systems:
            clock = StepClock()
            trainer = system.trainer(pairs, args, args.train_steps + args.warmup_steps)
            trainer.add_callback(clock.callback)
            trainer.train()
            seconds = clock.ends[-1] - clock.ends[args.warmup_steps]
            rates[system.name].append(args.batch_size * args.train_steps / seconds)
            logger.info("round %d %s: %.1f pairs/s", number, system.name, rates[system.name][-1])
    return rates


def timed(function: Callable, *arguments) -> float:
    started = time.perf_counter()
    function(*arguments)
    return time.perf_counter() - started


def encoding_rounds(systems: list[System], data, args) -> dict[str, dict[str, list[float]]]:
    """Passages/s, queries/s, tokens per passage and tokenising's share, per round."""
    samples: dict[str, dict[str, list[float]]] = {s.name: {} for s in systems}
    for number in range(args.rounds):
        for system in systems:
            if system.name == "minilm" and number:
                continue  # ~50x slower: one round is enough for a ratio of that size
            n = args.minilm_passages if system.name == "minilm" else args.passages
            passages, queries = data["corpus"][:n], data["queries"]
            record = samples[system.name]
            record.setdefault("passages_per_s", []).append(
                n / timed(system.encode_passages_split, passages)
            )
            record.setdefault("queries_per_s", []).append(
                len(queries) / timed(system.encode_queries, queries)
            )
            started = time.perf_counter()
            tokens = system.tokenize_passages(passages)
            tokenize_rate = n / (time.perf_counter() - started)
            record.setdefault("tokens_per_passage", []).append(tokens)
            record.setdefault("tokenize_share", []).append(
                record["passages_per_s"][-1] / tokenize_rate
            )
            logger.info(
                "round %d %s: %.0f passages/s, %.0f queries/s",
                number,
                system.name,
                record["passages_per_s"][-1],
                record["queries_per_s"][-1],
            )
    return samples


def search_latency(
    systems: list[System], data, args, tokens: dict[str, float]
) -> dict[str, dict[str, float]]:
    """Per query: encode it, then exact top-10 by inner product; p50/p95 in milliseconds.

    Queries are interleaved over the systems (query 1 on every system, then query 2, ...), so
    load from other jobs hits all alike. The corpus index has corpus.tsv's size (38,877 rows)
    and holds random unit vectors of the system's dimension, since exact search costs the same
    whatever the values; with ``--real_corpus_index`` it holds the system's real embeddings of
    corpus.tsv (slow for MiniLM). A synthetic index is made once per shape and shared.
    A lexical part is searched as `SearchIndex` does, stored sparse: synthetic rows get as many
    random buckets as a passage has tokens on average (``tokens``: system name -> mean).
    """
    from modeling.retrieval.search import exact_search

    rng = np.random.default_rng(0)
    queries = data["queries"][: args.latency_queries]
    made: dict[tuple, object] = {}

    def synthetic(n: int, dim: int, buckets: int, tokens: float):
        """A random ``(dense, lexical)`` index, made once for all systems of the same shape."""
        key = (n, dim, buckets, round(tokens) if buckets else 0)
        if key not in made:
            made[key] = (_unit_rows(rng, n, dim), _bag_rows(rng, n, buckets, tokens))
        return made[key]

    indexes: dict[str, dict[str, tuple]] = {}
    for system in systems:
        buckets = system.lexical_buckets
        shape = (system.dim - buckets, buckets, tokens[system.name])
        if args.real_corpus_index:
            corpus = system.encode_passages_split(data["corpus"])
        else:
            corpus = synthetic(len(data["corpus"]), *shape)
        indexes[system.name] = {"corpus": corpus}
        if args.synthetic_size:
            indexes[system.name]["1M"] = synthetic(args.synthetic_size, *shape)
        system.encode_queries(queries[:2])  # warm-up
    times: dict[str, dict[str, list[float]]] = {s.name: {} for s in systems}
    for query in queries:
        for system in systems:
            started = time.perf_counter()
            vector = system.encode_queries([query])
            encoded = time.perf_counter()
            times[system.name].setdefault("encode", []).append(encoded - started)
            for label, (index, lexical) in indexes[system.name].items():
                searched = time.perf_counter()
                exact_search(vector, index, 10, lexical=lexical)
                total = encoded - started + time.perf_counter() - searched
                times[system.name].setdefault(label, []).append(total)
    results: dict[str, dict[str, float]] = {}
    for name, series in times.items():
        for label, values in series.items():
            milliseconds = 1000 * np.asarray(values)
            results.setdefault(name, {})[f"{label}_p50_ms"] = float(np.percentile(milliseconds, 50))
            results[name][f"{label}_p95_ms"] = float(np.percentile(milliseconds, 95))
        logger.info("%s latency: %s", name, results[name])
    return results


def _bag_rows(rng: np.random.Generator, n: int, buckets: int, tokens: float):
    """``n`` random sparse bags of ``round(tokens)`` words each over ``buckets``; None if 0."""
    if not buckets:
        return None
    from scipy import sparse

    per_row = max(1, round(tokens))
    columns = rng.integers(0, buckets, size=(n, per_row)).ravel()
    values = rng.random(n * per_row, dtype=np.float32)
    indptr = np.arange(0, n * per_row + 1, per_row)
    bags = sparse.csr_matrix((values, columns, indptr), shape=(n, buckets))
    bags.sum_duplicates()  # a word twice in a row: one bucket
    return bags.tocsc()  # posting lists, as a SearchIndex holds them


def _unit_rows(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    rows = rng.standard_normal((n, dim), dtype=np.float32)
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    return rows


def _status_mib(field: str) -> float:
    """``VmRSS`` (now) or ``VmHWM`` (peak) of this process; exec resets both, unlike ru_maxrss."""
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def memory_probe(name: str, args: argparse.Namespace) -> dict[str, float]:
    """In a fresh process: RSS once loaded, peak RSS after encoding, then after training."""
    from data_prep.glove import load_glove

    data = load_data(args)
    vocab = load_glove() if name not in ENCODE_ONLY else None
    system = build_system(name, vocab, args)
    del vocab
    result = {"loaded_mib": _status_mib("VmRSS")}
    n = args.minilm_passages if name == "minilm" else args.passages
    system.encode_passages_split(data["corpus"][:n])
    result["encode_peak_mib"] = _status_mib("VmHWM")  # encoding first: the smaller peak
    if system.trainable:
        system.trainer(data["pairs"], args, args.train_steps + args.warmup_steps).train()
        result["train_peak_mib"] = _status_mib("VmHWM")
    return result


def memory_rounds(names: list[str], args: argparse.Namespace) -> dict[str, dict[str, float]]:
    """One fresh child process per system (peak RSS is per process)."""
    results: dict[str, dict[str, float]] = {}
    for name in names:
        command = [sys.executable, __file__, "--memory_probe", name]
        for key in PROBE_SETTINGS:
            value = getattr(args, key)
            if isinstance(value, bool):
                command += [f"--{key}"] if value else []
            else:
                command += [f"--{key}", str(value)]
        output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        results[name] = json.loads(output.strip().splitlines()[-1])
        logger.info("%s memory (MiB): %s", name, results[name])
    return results


# 3. Report ----------------------------------------------------------------------------------


def _ratio(results: dict, metric: str, ours: str, peer: str, lower_is_better: bool = False):
    """ours / peer; for metrics timed in interleaved rounds, the median of the per-round ratios
    (a load spike then hits one round of both systems, not one system's whole measurement)."""
    rounds_a = results.get(ours, {}).get("rounds", {}).get(metric)
    rounds_b = results.get(peer, {}).get("rounds", {}).get(metric)
    if rounds_a and rounds_b and len(rounds_a) == len(rounds_b):
        return statistics.median(a / b for a, b in zip(rounds_a, rounds_b, strict=True))
    a, b = results.get(ours, {}).get(metric), results.get(peer, {}).get(metric)
    if a is None or b is None:
        return None
    return b / a if lower_is_better else a / b


def format_table(results: dict[str, dict], meta: dict) -> str:
    """Markdown: one row per system, then the ratios of ours to each peer."""
    columns = [
        ("train_pairs_per_s", "train pairs/s", "{:,.0f}"),
        ("passages_per_s", "passages/s", "{:,.0f}"),
        ("queries_per_s", "queries/s", "{:,.0f}"),
        ("tokens_per_passage", "tokens/passage", "{:.0f}"),
        ("tokenize_share", "tokenising share", "{:.0%}"),
        ("encode_p50_ms", "query encode p50 ms", "{:.1f}"),
        ("corpus_p50_ms", "38,877-row p50 ms", "{:.1f}"),
        ("corpus_p95_ms", "38,877-row p95 ms", "{:.1f}"),
        ("1M_p50_ms", "1M p50 ms", "{:.1f}"),
        ("1M_p95_ms", "1M p95 ms", "{:.1f}"),
        ("loaded_mib", "loaded MiB", "{:,.0f}"),
        ("encode_peak_mib", "encode peak MiB", "{:,.0f}"),
        ("train_peak_mib", "train peak MiB", "{:,.0f}"),
    ]
    columns = [c for c in columns if any(c[0] in r for r in results.values())]
    lines = [
        "| system | dim | " + " | ".join(c[1] for c in columns) + " |",
        "|---|---|" + "---|" * len(columns),
    ]
    for name, result in results.items():
        cells = [c[2].format(result[c[0]]) if c[0] in result else "–" for c in columns]
        dim = f"{result.get('dim', '–')}"
        if result.get("lexical_buckets"):
            dim += f" + {result['lexical_buckets']} sparse"
        lines.append(f"| {name} | {dim} | " + " | ".join(cells) + " |")
    lower = {"encode_p50_ms", "encode_p95_ms", "corpus_p50_ms", "corpus_p95_ms"}
    lower |= {"1M_p50_ms", "1M_p95_ms"}
    lower |= {"loaded_mib", "train_peak_mib", "encode_peak_mib"}
    for ours in [name for name in OURS if name in results]:
        for peer in [name for name in (PEER, *ENCODE_ONLY) if name in results]:
            cells = []
            for key, _, _ in columns:
                ratio = _ratio(results, key, ours, peer, key in lower)
                cells.append(
                    f"{ratio:.2f}×" if ratio is not None and key not in NOT_RATIOS else "–"
                )
            lines.append(f"| **{ours} / {peer}** | | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append(
        "Ratios are ours / peer (>1 = ours better): throughput divided, latency and memory "
        "inverted; training and encoding ratios are the median of per-round ratios. "
        f"{meta['note']}"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.memory_probe:
        print(json.dumps(memory_probe(args.memory_probe, args)))
        return {}
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level="INFO")
    for noisy in ("transformers", "sentence_transformers", "accelerate"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    started, load_before = time.perf_counter(), os.getloadavg()

    # 1. Data and systems
    from data_prep.glove import load_glove

    data = load_data(args)
    names = [name.strip() for name in args.systems.split(",") if name.strip()]
    vocab = load_glove()
    systems = [build_system(name, vocab, args) for name in names]
    results: dict[str, dict] = {
        s.name: {"dim": s.dim - s.lexical_buckets, "lexical_buckets": s.lexical_buckets}
        for s in systems
    }

    # 2. Training throughput (trainable systems), encoding, search, memory
    trainable = [s for s in systems if s.trainable]
    if trainable and args.train_steps:
        for name, rates in training_rounds(trainable, data, args).items():
            results[name]["train_pairs_per_s"] = statistics.median(rates)
            results[name].setdefault("rounds", {})["train_pairs_per_s"] = rates
    for name, record in encoding_rounds(systems, data, args).items():
        results[name].update({key: statistics.median(values) for key, values in record.items()})
        results[name].setdefault("rounds", {}).update(record)
    tokens = {name: result.get("tokens_per_passage", 1.0) for name, result in results.items()}
    for name, values in search_latency(systems, data, args, tokens).items():
        results[name].update(values)
    if not args.no_memory:
        for name, values in memory_rounds(names, args).items():
            results[name].update(values)

    # 3. Report
    load_after = os.getloadavg()
    meta = {
        "threads": args.threads,
        "cpu_count": os.cpu_count(),
        "load_average_before": load_before,
        "load_average_after": load_after,
        "seconds": time.perf_counter() - started,
        "settings": {k: v for k, v in vars(args).items() if k != "memory_probe"},
        "note": (
            f"{os.cpu_count()} CPU cores, torch threads {args.threads}, 1-min load average "
            f"{load_before[0]:.1f} before / {load_after[0]:.1f} after; batch {args.batch_size}, "
            f"passages <= {args.passage_max_length} tokens, hidden {args.hidden_size}x2 "
            f"({args.hidden_size}x{1 + (args.bidirectional == 'true')} for ours), GloVe 50d."
        ),
    }
    table = format_table(results, meta)
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps({"results": results, "meta": meta}, indent=2) + "\n")
    if args.markdown:
        Path(args.markdown).write_text(table + "\n")
    print(table)
    return {"results": results, "meta": meta}


if __name__ == "__main__":
    main()
