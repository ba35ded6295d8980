"""sentence-transformers' InformationRetrievalEvaluator, run on the checkpoint loaded as a
SentenceTransformer, scores dev600-retrieve as scripts/evaluate.py does (MRR@10, R@100).

The checkpoint is untrained (real GloVe, the recipe's architecture, random towers): the
agreement of the two pipelines is under test, not the quality. The evaluator's queries, corpus
and relevance are read from the data files here, apart from the project's task loader.
"""

from __future__ import annotations

import json

import pytest
import torch
from script_loader import load_script

from modeling import TwoTowerModel, TwoTowerTokenizerFast
from modeling.training.recipe import RECIPE

pytest.importorskip("sentence_transformers")


@pytest.mark.slow
def test_ir_evaluator_agrees_with_evaluate_script(msmarco_dir, glove, tmp_path):
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.evaluation import (
        InformationRetrievalEvaluator,
    )

    torch.manual_seed(0)
    model = TwoTowerModel.from_glove(
        torch.from_numpy(glove.vectors),
        bidirectional=RECIPE.bidirectional,
        lexical_buckets=RECIPE.lexical_buckets,
    )
    folder = tmp_path / "untrained"
    model.save_pretrained(folder)
    TwoTowerTokenizerFast.from_vocabulary(glove.words, drop_stopwords=True).save_pretrained(folder)

    argv = ["--model", str(folder), "--tasks", "dev600-retrieve", "--baselines", "none"]
    argv += ["--data_dir", str(msmarco_dir), "--throughput_passages", "0", "--no_cache"]
    (script,) = load_script("evaluate").main(argv).values()

    # dev600-retrieve: the dev600 queries with a selected candidate search all of corpus.tsv.
    with open(msmarco_dir / "corpus.tsv", encoding="utf-8") as handle:
        corpus = dict(line.rstrip("\n").split("\t", 1) for line in handle)
    queries, relevant = {}, {}
    with open(msmarco_dir / "dev600_bm25top20.jsonl", encoding="utf-8") as handle:
        for row in map(json.loads, handle):
            pids, flags = row["passages"]["pid"], row["passages"]["is_selected"]
            selected = {str(pid) for pid, flag in zip(pids, flags, strict=True) if flag}
            if selected:
                queries[str(row["query_id"])] = row["query"]
                relevant[str(row["query_id"])] = selected
    assert (len(queries), len(corpus)) == (540, 38_877)

    evaluator = InformationRetrievalEvaluator(
        queries,
        corpus,
        relevant,
        mrr_at_k=[10],
        precision_recall_at_k=[100],
        accuracy_at_k=[1],
        ndcg_at_k=[10],
        map_at_k=[100],
        batch_size=256,
    )
    st_model = SentenceTransformer(str(folder), trust_remote_code=True)
    results = evaluator(st_model)
    print(f"evaluate.py: {script}\nInformationRetrievalEvaluator: {results}")
    assert script["dev600-retrieve/MRR@10"] == pytest.approx(results["dot_mrr@10"], abs=1e-3)
    assert script["dev600-retrieve/R@100"] == pytest.approx(results["dot_recall@100"], abs=1e-3)
    assert script["dev600-retrieve/MRR@10"] > 0.01  # a ranking, not all misses
