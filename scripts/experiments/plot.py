"""Speed-quality figure: passages encoded per second (log x) against dev600-rerank MRR@10 and
DL19 nDCG@10, one point per system, from the JSON that scripts/evaluate.py writes.

    python scripts/evaluate.py --model checkpoints/two_tower_final --hybrid \\
        --baselines bm25,glove-avg,model2vec,minilm --output results/eval_all.json
    python scripts/experiments/plot.py --eval results/eval_all.json --output docs/speed_quality.png

(``make plot`` runs both, and throughput.py for steadier speeds.) Several --eval files merge,
figure by figure (a later file's figure replaces an earlier one, with a warning). Speed is
``passages_per_s``: evaluate.py's single timing, or throughput.py's median of interleaved rounds
when its file comes last (BM25's is indexing speed). A "+ BM25 (...)" (fused) row has
no speed of its own: every passage then goes through both systems, so its rate is
``1 / (1/model + 1/bm25)``. Deliberately left out: error bars (one run per system).
"""

from __future__ import annotations

import argparse
import json
import logging
import re
from pathlib import Path

logger = logging.getLogger("plot")

SPEED = "passages_per_s"
PANELS = (("dev600-rerank/MRR@10", "dev600-rerank MRR@10"), ("dl19-pool/nDCG@10", "DL19 nDCG@10"))
HYBRID = re.compile(r"^(?P<model>.+) \+ BM25 \([^)]+\)$")  # "<model> + BM25 (<fusion>)"


def hybrid_of(system: str) -> str | None:
    """The model a "+ BM25 (...)" row fuses with BM25, or None for any other row."""
    match = HYBRID.match(system)
    return match["model"] if match else None


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
    """``{system: {metric: value}}`` from several files; a later file's figure for the same
    system and metric wins (with a warning), e.g. throughput.py's speeds over evaluate.py's."""
    merged: dict[str, dict[str, float]] = {}
    for path in paths:
        data = json.loads(Path(path).read_text())
        if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
            raise ValueError(f"{path} is not a scripts/evaluate.py output ({{system: metrics}}).")
        for system, metrics in data.items():
            replaced = sorted(set(merged.get(system, {})) & set(metrics))
            if replaced:
                logger.warning("%s: %s from %s replace the earlier figures", system, replaced, path)
            merged.setdefault(system, {}).update(metrics)
    return merged


def points(results: dict[str, dict[str, float]]) -> list[dict]:
    """One point per system with a speed and both panels' metrics: name, speed, the metrics."""
    out = []
    for system, metrics in results.items():
        speed = metrics.get(SPEED)
        if speed is None and hybrid_of(system):
            model = results.get(hybrid_of(system), {}).get(SPEED)
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


MARKERS = "osD^vPXh"  # the other systems, in the order they appear
COLORS = ("#1f5f99", "#2e7d32", "#6a1b9a", "#ef6c00", "#00838f", "#5d4037", "#455a64", "#ad1457")


def plot(points_: list[dict], output: str | Path, ours: set[str]) -> Path:
    """Draws the two panels, one legend entry per system, and saves them to ``output`` (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    figure, axes = plt.subplots(1, 2, figsize=(11, 5.2))
    others = 0
    for point in points_:
        base = hybrid_of(point["name"]) or point["name"]
        if base in ours:  # our model: red stars, filled alone, hollow when fused with BM25
            hybrid = point["name"] != base
            style = {"marker": "*", "s": 220, "color": "#c62828", "zorder": 4}
            style |= {"facecolors": "none", "linewidths": 1.5} if hybrid else {}
        else:
            style = {"marker": MARKERS[others % len(MARKERS)], "s": 70, "zorder": 3,
                     "color": COLORS[others % len(COLORS)]}  # fmt: skip
            others += 1
        for axis, (key, _) in zip(axes, PANELS, strict=True):
            axis.scatter(point["speed"], point[key], label=point["name"], **style)
    for axis, (_, label) in zip(axes, PANELS, strict=True):
        axis.set_xscale("log")
        axis.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        axis.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,.0f}"))
        axis.xaxis.set_minor_formatter(NullFormatter())
        axis.set_xlabel("passages encoded per second (log scale; right is faster)")
        axis.set_ylabel(f"{label} (up is better)")
        axis.grid(True, which="both", alpha=0.3)
        low, high = axis.get_xlim()
        axis.set_xlim(low / 1.3, high * 1.3)
    handles, labels = axes[0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="lower center", ncol=min(len(labels), 3), frameon=False,
                  fontsize=9)  # fmt: skip
    figure.suptitle("Speed vs quality on the MS MARCO subsets (stars: our model)", fontsize=11)
    figure.tight_layout(rect=(0, 0.06 * (1 + (len(labels) - 1) // 3), 1, 1))
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
        hybrid_of(name) for name in results if hybrid_of(name)
    }  # fmt: skip
    # 3. The figure.
    output = plot(points_, args.output, ours)
    logger.info("Speed-quality plot of %d systems written to %s", len(points_), output)
    return output


if __name__ == "__main__":
    main()
