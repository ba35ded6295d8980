"""Speed-quality figure: passages encoded per second (log x) against dev600-rerank MRR@10 and
DL19 nDCG@10, one point per system, from the JSON that scripts/evaluate.py writes.

    python scripts/evaluate.py --model checkpoints/two_tower_final --hybrid \\
        --baselines bm25,glove-avg,model2vec,minilm --output results/eval_all.json
    python scripts/experiments/plot.py --eval results/eval_all.json --output docs/speed_quality.png

(``make plot`` runs both.) Several --eval files merge, system by system (a system found twice
keeps its last file's figures, with a warning). Speed is evaluate.py's ``passages_per_s`` (its
speed sample, on the machine that ran it; BM25's is indexing speed). A "+ BM25 (RRF)" row has
no speed of its own: every passage then goes through both systems, so its rate is
``1 / (1/model + 1/bm25)``. Deliberately left out: error bars (one run per system).
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

logger = logging.getLogger("plot")

SPEED = "passages_per_s"
PANELS = (("dev600-rerank/MRR@10", "dev600-rerank MRR@10"), ("dl19-pool/nDCG@10", "DL19 nDCG@10"))
HYBRID_SUFFIX = " + BM25 (RRF)"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--eval", nargs="+", required=True, help="scripts/evaluate.py JSON(s).")
    parser.add_argument("--output", default="docs/speed_quality.png", help="PNG to write.")
    parser.add_argument(
        "--ours",
        default=None,
        help="The system to highlight (default: those with a hybrid row: evaluate.py's --model).",
    )
    return parser.parse_args(argv)


def merge_results(paths: list[str | Path]) -> dict[str, dict[str, float]]:
    """``{system: {metric: value}}`` from several evaluate.py files, later files winning."""
    merged: dict[str, dict[str, float]] = {}
    for path in paths:
        data = json.loads(Path(path).read_text())
        if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
            raise ValueError(f"{path} is not a scripts/evaluate.py output ({{system: metrics}}).")
        for system, metrics in data.items():
            if system in merged:
                logger.warning("%s appears again in %s: its figures replace the earlier ones",
                               system, path)  # fmt: skip
            merged[system] = metrics
    return merged


def points(results: dict[str, dict[str, float]]) -> list[dict]:
    """One point per system with a speed and both panels' metrics: name, speed, the metrics."""
    out = []
    for system, metrics in results.items():
        speed = metrics.get(SPEED)
        if speed is None and system.endswith(HYBRID_SUFFIX):
            model = results.get(system[: -len(HYBRID_SUFFIX)], {}).get(SPEED)
            bm25 = results.get("BM25", {}).get(SPEED)
            speed = 1 / (1 / model + 1 / bm25) if model and bm25 else None
        missing = [key for key, _ in PANELS if key not in metrics]
        if speed is None or missing:
            logger.warning("%s left out of the plot: no %s", system, missing or SPEED)
            continue
        out.append({"name": system, "speed": speed, **{key: metrics[key] for key, _ in PANELS}})
    if not out:
        raise ValueError("No system has both a speed and the plotted metrics: run evaluate.py "
                         "with its default tasks and --throughput_passages > 0.")  # fmt: skip
    return out


def plot(points_: list[dict], output: str | Path, ours: set[str]) -> Path:
    """Draws the two panels and saves them to ``output`` (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(11, 4.6), constrained_layout=True)
    for axis, (key, label) in zip(axes, PANELS, strict=True):
        for point in points_:
            mine = point["name"] in ours or point["name"].removesuffix(HYBRID_SUFFIX) in ours
            axis.scatter(point["speed"], point[key], s=90 if mine else 55,
                         marker="*" if mine else "o", color="#c62828" if mine else "#1f5f99",
                         zorder=3)  # fmt: skip
            axis.annotate(point["name"], (point["speed"], point[key]), xytext=(6, 5),
                          textcoords="offset points", fontsize=8.5)  # fmt: skip
        axis.set_xscale("log")
        axis.set_xlabel("passages encoded per second (log scale, higher is faster)")
        axis.set_ylabel(label)
        axis.grid(True, which="both", alpha=0.3)
        low, high = axis.get_xlim()
        axis.set_xlim(low, high * 4)  # room for the labels of the fastest systems
    figure.suptitle("Speed vs quality on MS MARCO subsets (red stars: our model)", fontsize=11)
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(output, dpi=110)
    plt.close(figure)
    return output


def main(argv: list[str] | None = None) -> Path:
    args = parse_args(argv)
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level="INFO")
    # 1. Results, merged across files.
    results = merge_results(args.eval)
    # 2. Points: speed and the two metrics per system (hybrids: combined speed).
    points_ = points(results)
    ours = {args.ours} if args.ours else {
        name.removesuffix(HYBRID_SUFFIX) for name in results if name.endswith(HYBRID_SUFFIX)
    }  # fmt: skip
    # 3. The figure.
    output = plot(points_, args.output, ours)
    logger.info("Speed-quality plot of %d systems written to %s", len(points_), output)
    return output


if __name__ == "__main__":
    main()
