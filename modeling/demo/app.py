"""`DemoSearcher` answers a query from a search index with our model and with BM25, as HTML;
`build_app` puts it on a local Gradio page (query box, the two top-10 lists side by side).

Our list is exactly what ``scripts/search.py query`` returns for the same index and query
(`modeling.retrieval.index.search`); BM25 ranks the same passages, indexed from the texts
stored in the index. Every passage is shaded by our model's term weights (``highlight.py``).
Deliberately left out: FAISS, hybrid fusion and a query log; the page is for looking, not serving.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from modeling.demo.highlight import hits_html, largest_weight, query_html, weigh_texts
from modeling.retrieval.bm25 import BM25Retriever
from modeling.retrieval.encoders import TwoTowerEncoder
from modeling.retrieval.index import Hit, SearchIndex, search

logger = logging.getLogger(__name__)


class DemoSearcher:
    """An index, our model over it and BM25 over its texts.

    Args:
        index_dir: A directory written by ``scripts/search.py build`` with passage texts.
        model: The two-tower checkpoint; default the one recorded in the index.
        top_k: Passages per list.
        device: ``"cpu"``, ``"cuda"``, ...; None picks CUDA when available.
    """

    def __init__(
        self,
        index_dir: str | Path,
        model: str | Path | None = None,
        top_k: int = 10,
        device: str | None = None,
    ):
        self.index = SearchIndex(index_dir)
        if not len(self.index) or self.index.text(0) is None:
            raise ValueError(
                f"{index_dir} holds no passage texts (built with --no_texts, or empty): "
                "rebuild it with `scripts/search.py build` without --no_texts."
            )
        reference = str(model or self.index.model_reference)
        if not (Path(reference) / "config.json").exists():
            raise ValueError(
                f"The demo shows a two-tower checkpoint's term weights, but {reference!r} is not "
                "a checkpoint directory: pass --model CKPT, or build the index with one."
            )
        self.encoder = TwoTowerEncoder(reference, device=device)
        self.index.check_encoder(self.encoder)  # fail at start, not at the first query
        if not self.encoder.lexical_buckets:
            raise ValueError(
                f"{reference} has no lexical part (lexical_buckets=0), so no term weights to "
                "show: train with --lexical_buckets (the recipe's default)."
            )
        self.texts = self.index.texts()
        logger.info("Indexing %d passages with BM25", len(self.texts))
        self.bm25 = BM25Retriever().index(self.texts)
        self.top_k = min(top_k, len(self.texts))

    def ours(self, query: str) -> list[Hit]:
        """Our model's top-k, as ``scripts/search.py query`` gives them."""
        return search(self.index, self.encoder, [query], k=self.top_k)[0]

    def bm25_hits(self, query: str) -> list[Hit]:
        """BM25's top-k over the index's passages."""
        rows, scores = self.bm25.retrieve([query], self.top_k)
        return [
            Hit(pid=self.index.ids[row], score=float(score), text=self.texts[row])
            for row, score in zip(rows[0].tolist(), scores[0].tolist(), strict=True)
        ]

    def render(self, query: str) -> tuple[str, str, str]:
        """``query`` -> HTML of the weighted query, our top-k and BM25's top-k."""
        query = (query or "").strip()
        if not query:
            message = "<p>Type a query.</p>"
            return message, "", ""
        ours, bm25 = self.ours(query), self.bm25_hits(query)
        model, tokenizer = self.encoder.model, self.encoder.tokenizer
        (weighted_query,) = weigh_texts(model, tokenizer, [query], side="query")
        passages = weigh_texts(model, tokenizer, [h.text for h in ours + bm25], side="passage")
        scale = largest_weight(passages)  # one scale for both lists: shades compare across them
        ours_rows = [(h.pid, h.score, w) for h, w in zip(ours, passages[: len(ours)], strict=True)]
        bm25_rows = [(h.pid, h.score, w) for h, w in zip(bm25, passages[len(ours) :], strict=True)]
        return (
            query_html(weighted_query),
            hits_html(f"Ours ({self.encoder.name})", ours_rows, weighted_query, scale),
            hits_html("BM25", bm25_rows, weighted_query, scale),
        )


def build_app(searcher: DemoSearcher):
    """The Gradio page over ``searcher``; its API endpoint ``/search`` returns the three HTMLs."""
    # Offline by design: no usage report to gradio's servers (read when gradio is imported).
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    try:
        import gradio as gr
    except ImportError as err:
        raise ImportError("The demo needs gradio: pip install '.[demo]'.") from err

    with gr.Blocks(title="Two-tower retriever demo") as app:
        gr.Markdown(
            f"### Two-tower retriever vs BM25 over {len(searcher.texts):,} passages\n"
            "Words are shaded by the term weight our model gave them (darker: more weight); "
            "query words are underlined. A word shared by query and passage adds the product "
            "of its two weights to our score. Words past the model's "
            f"{searcher.encoder.tokenizer.passage_max_length}-token limit stay plain: it never "
            "read them."
        )
        with gr.Row():
            query = gr.Textbox(label="Query", placeholder="what is a flea", scale=4)
            button = gr.Button("Search", variant="primary", scale=1)
        weighted_query = gr.HTML(elem_id="weighted-query")
        with gr.Row():
            ours = gr.HTML(elem_id="ours")
            bm25 = gr.HTML(elem_id="bm25")
        outputs = [weighted_query, ours, bm25]
        button.click(searcher.render, inputs=query, outputs=outputs, api_name="search")
        query.submit(searcher.render, inputs=query, outputs=outputs, api_name=False)
    return app
