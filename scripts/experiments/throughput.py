"""Passages encoded per second of each system, timed in interleaved rounds on one sample.

scripts/evaluate.py times each system once, right after scoring it, so on a shared machine
its speeds move with the load of the moment. Here every system encodes the same passages
(the first of corpus.tsv) once per round, in turn, and the median round is kept: a load spike
then slows one round of every system rather than one system's whole figure. BM25's rate is
tokenising and indexing, as in evaluate.py. The output has evaluate.py's shape and system names,
so plot.py merges it over evaluate.py's figures:

    python scripts/experiments/throughput.py --model checkpoints/two_tower_final \\
        --baselines bm25,glove-avg,model2vec,minilm --output results/throughput.json

Deliberately left out: queries per second and search latency (benchmark.py measures those).
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
from pathlib import Path

import torch

from data_prep import MSMARCO_DIR
from data_prep.glove import load_glove
from modeling.evaluation.runner import THROUGHPUT_KEY, measure_throughput
from modeling.evaluation.tasks import read_tsv_collection
from modeling.retrieval.loading import load_encoder

logger = logging.getLogger("throughput")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", action="append", default=[], help="Checkpoint; repeatable.")
    parser.add_argument(
        "--baselines",
        default="bm25,glove-avg,model2vec",
        help="Comma-separated among bm25, glove-avg, model2vec, minilm (default: %(default)s).",
    )
    parser.add_argument("--data_dir", default=str(MSMARCO_DIR), help="Holds corpus.tsv.")
    parser.add_argument("--passages", type=int, default=1000, help="Sample size (passages).")
    parser.add_argument("--rounds", type=int, default=5, help="Interleaved rounds (median kept).")
    parser.add_argument("--threads", type=int, default=1, help="torch threads.")
    parser.add_argument("--output", required=True, help="JSON: {system: {passages_per_s}}.")
    return parser.parse_args(argv)


def interleaved_rates(systems: dict, texts: list[str], rounds: int) -> dict[str, list[float]]:
    """``{name: [passages/s per round]}``, systems taking turns within each round."""
    if rounds < 1:
        raise ValueError(f"--rounds {rounds}: time at least one round.")
    for system in systems.values():
        measure_throughput(system, texts[: max(1, len(texts) // 10)])  # warm-up, untimed
    rates: dict[str, list[float]] = {name: [] for name in systems}
    for number in range(rounds):
        for name, system in systems.items():
            rates[name].append(measure_throughput(system, texts))
        logger.info("round %d: %s", number, {k: round(v[-1]) for k, v in rates.items()})
    return rates


def main(argv: list[str] | None = None) -> dict[str, dict[str, float]]:
    args = parse_args(argv)
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level="INFO")
    torch.set_num_threads(args.threads)
    # 1. The sample: the first passages of corpus.tsv.
    texts = read_tsv_collection(Path(args.data_dir) / "corpus.tsv").texts[: args.passages]
    # 2. The systems, under evaluate.py's names.
    systems: dict[str, object] = {}
    for spec in [*args.model, *(b.strip() for b in args.baselines.split(",") if b.strip())]:
        if spec.lower() == "bm25":
            systems["BM25"] = "bm25"
            continue
        encoder = load_encoder(spec, glove=load_glove)
        systems[encoder.name if encoder.name not in systems else spec] = encoder
    # 3. Interleaved rounds; the median per system.
    rates = interleaved_rates(systems, texts, args.rounds)
    results = {name: {THROUGHPUT_KEY: statistics.median(values)} for name, values in rates.items()}
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(results, indent=2) + "\n")
    for name, values in results.items():
        logger.info("%s: %.0f passages/s (rounds: %s)", name, values[THROUGHPUT_KEY],
                    [round(v) for v in rates[name]])  # fmt: skip
    return results


if __name__ == "__main__":
    main()
