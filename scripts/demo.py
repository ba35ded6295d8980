"""A local web page over a search index: our model's top 10 next to BM25's, words shaded by the
term weights our model gave them (its lexical part made visible), query words underlined.

    python scripts/search.py build --model checkpoints/two_tower_final \\
        --corpus ../shared/data/msmarco/corpus.tsv --index_dir indexes/corpus
    python scripts/demo.py --index_dir indexes/corpus      # then open http://127.0.0.1:7860

Needs the demo extra (gradio): pip install '.[demo]'. Runs offline.
"""

from __future__ import annotations

import argparse
import logging

from modeling.demo.app import DemoSearcher, build_app

logger = logging.getLogger("demo")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--index_dir", required=True, help="An index from scripts/search.py build.")
    parser.add_argument(
        "--model", default=None, help="Two-tower checkpoint (default: the one in the index)."
    )
    parser.add_argument("--top_k", type=int, default=10, help="Passages per list.")
    parser.add_argument("--host", default="127.0.0.1", help="Address to serve on.")
    parser.add_argument("--port", type=int, default=7860, help="Port to serve on.")
    parser.add_argument("--device", default=None, help="cpu, cuda, ... (default: cuda if any).")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level="INFO")
    # 1. The index, our model (checked against it) and BM25 over the index's texts.
    searcher = DemoSearcher(args.index_dir, model=args.model, top_k=args.top_k, device=args.device)
    # 2. The page, served until interrupted.
    app = build_app(searcher)
    logger.info("Serving on http://%s:%d (Ctrl-C stops)", args.host, args.port)
    app.launch(server_name=args.host, server_port=args.port)


if __name__ == "__main__":
    main()
