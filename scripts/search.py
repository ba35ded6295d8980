"""Builds a dense index over a corpus and answers queries with the top-k passages.

Build (encode a tsv/jsonl/parquet corpus in chunks, save embeddings + ids + texts + the model
reference). Runs data-parallel when launched with accelerate: each process encodes its shard of
chunks and the shards merge into one index in corpus order.

    python scripts/search.py build --model checkpoints/two_tower_final \\
        --corpus ../shared/data/msmarco/corpus.tsv --index_dir indexes/corpus [--overwrite]
    ACCELERATE_USE_CPU=1 accelerate launch --multi_gpu --num_processes 2 scripts/search.py \\
        build --model checkpoints/two_tower_final --corpus collection.tsv --index_dir indexes/full

Query (queries from --query arguments, a --queries_file with one query per line, or stdin; the
model defaults to the one recorded in the index and is checked against it):

    python scripts/search.py query --index_dir indexes/corpus --query "what is a flea" --top_k 5
    echo "how long is the life cycle of a flea" | python scripts/search.py query \\
        --index_dir indexes/corpus

--model also takes "minilm", "glove-avg" or "model2vec" for the reference encoders.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

import torch

from data_prep.glove import load_glove
from modeling.cli import positive_int, run_script
from modeling.retrieval.index import (
    SearchIndex,
    build_index,
    check_index_dir,
    distributed_state,
    search,
)
from modeling.retrieval.loading import load_encoder

logger = logging.getLogger("search")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)

    build = commands.add_parser("build", help="Encode a corpus into an index directory.")
    build.add_argument(
        "--model", required=True, help="Checkpoint directory, minilm, glove-avg or model2vec."
    )
    build.add_argument("--corpus", required=True, help="A .tsv (pid<TAB>text), .jsonl or .parquet.")
    build.add_argument(
        "--index_dir", required=True, help="Output directory: new, empty, or an index to replace."
    )
    build.add_argument(
        "--overwrite",
        action="store_true",
        help="Replace the index in --index_dir (never a folder holding other files).",
    )
    build.add_argument(
        "--chunk_size",
        type=int,
        default=50_000,
        help="Passages read and encoded at a time; also the unit split between processes.",
    )
    build.add_argument("--no_texts", action="store_true", help="Do not store passage texts.")

    query = commands.add_parser("query", help="Answer queries from an index.")
    query.add_argument("--index_dir", required=True, help="A directory written by `build`.")
    query.add_argument(
        "--model", default=None, help="Query encoder (default: the model recorded in the index)."
    )
    query.add_argument("--query", action="append", default=[], help="A query; repeatable.")
    query.add_argument("--queries_file", default=None, help="One query per line.")
    query.add_argument(
        "--top_k", type=positive_int, default=10, help="Passages returned per query."
    )
    query.add_argument(
        "--backend", choices=("exact", "faiss"), default="exact", help="faiss needs faiss-cpu."
    )
    query.add_argument(
        "--chunk_size",
        type=positive_int,
        default=None,
        help="Corpus rows scored at once (exact search).",
    )
    query.add_argument("--format", choices=("text", "jsonl"), default="text", help="Output form.")

    for sub in (build, query):
        sub.add_argument(
            "--batch_size", type=positive_int, default=None, help="Texts per forward pass."
        )
        sub.add_argument("--device", default=None, help="cpu, cuda, ... (default: cuda if any).")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level="INFO")
    if args.command == "build":
        run_build(args)
    else:
        run_query(args)


def run_build(args: argparse.Namespace) -> None:
    # 1. Refuse a folder that is not ours to replace before loading anything.
    check_index_dir(args.index_dir, args.overwrite)
    # 2. One process per device (or CPU process) under accelerate launch; one otherwise. On the
    #    CPU each process gets one torch thread unless OMP_NUM_THREADS says otherwise: several
    #    threads per process contend for shared cores (OFFLINE_STACK.md).
    state = distributed_state()
    device = args.device or str(state.device)
    if device == "cpu" and "OMP_NUM_THREADS" not in os.environ:
        torch.set_num_threads(1)
    # 3. The encoder, on this process's device.
    encoder = load_encoder(args.model, batch_size=args.batch_size, device=device, glove=load_glove)
    # 4. Encode this process's chunks; the main process merges them in corpus order into a
    #    staging folder and renames it into place.
    build_index(
        encoder,
        args.corpus,
        args.index_dir,
        chunk_size=args.chunk_size,
        store_texts=not args.no_texts,
        overwrite=args.overwrite,
    )
    if state.num_processes > 1:
        # gloo may abort at interpreter exit after a clean run: exit hard.
        import torch.distributed as dist

        dist.destroy_process_group()
        logging.shutdown()
        sys.stdout.flush()
        os._exit(0)


def run_query(args: argparse.Namespace) -> None:
    # 1. The index and the query encoder (checked against the index before searching).
    index = SearchIndex(args.index_dir)
    encoder = load_encoder(
        args.model or index.model_reference,
        batch_size=args.batch_size,
        device=args.device,
        glove=load_glove,
    )
    # 2. Queries: arguments, then a file, else stdin.
    queries = list(args.query)
    if args.queries_file:
        lines = Path(args.queries_file).read_text(encoding="utf-8").splitlines()
        queries += [line.strip() for line in lines if line.strip()]
    if not queries:
        if sys.stdin.isatty():
            logger.info("Type one query per line; end with Ctrl-D.")
        queries = [line.strip() for line in sys.stdin if line.strip()]
    if not queries:
        raise ValueError("No query given: use --query TEXT, --queries_file FILE or stdin.")
    # 3. Search and print.
    results = search(
        index, encoder, queries, k=args.top_k, backend=args.backend, chunk_size=args.chunk_size
    )
    for query, hits in zip(queries, results, strict=True):
        # A query the model cannot read gets no hits rather than the same arbitrary passages.
        reason = None if hits else encoder.why_unanswerable(query)
        if args.format == "jsonl":
            line = {"query": query, "hits": [vars(hit) for hit in hits]}
            print(json.dumps(line | ({"no_results": reason} if reason else {}), ensure_ascii=False))
            continue
        print(f"\n# {query}")
        if reason:
            print(f"  no results: {reason}.")
        for rank, hit in enumerate(hits, start=1):
            text = (hit.text or "")[:200].replace("\n", " ")
            print(f"{rank:>3}  {hit.score:.4f}  {hit.pid}  {text}")


if __name__ == "__main__":
    run_script(main)
