"""More training data from the real subsets, with every evaluation query left out."""

import json

import pytest

from data_prep.training_sets import evaluation_queries, load_training_table


def test_training_table_never_holds_an_evaluation_query(msmarco_dir):
    table = load_training_table(msmarco_dir, ("train_pairs", "v2text", "dev_small"))
    ids = table.column("query_id").to_pylist()
    queries = {q.strip().lower() for q in table.column("query").to_pylist()}
    eval_ids, eval_texts = evaluation_queries(msmarco_dir)
    assert len(eval_ids) == 600 + 43 and not eval_ids & set(ids)
    assert not eval_texts & queries
    assert len(ids) == len(set(ids))  # a query id appears once
    dev600_lines = (msmarco_dir / "dev600_bm25top20.jsonl").read_text().strip().split("\n")
    dev600 = {json.loads(line)["query_id"] for line in dev600_lines}
    dev_lines = (msmarco_dir / "queries.dev.small.tsv").read_text().strip().split("\n")
    dev_small = {int(line.split("\t")[0]) for line in dev_lines}
    assert len(set(ids) & dev_small) == len(dev_small) - len(dev600)  # the other 6,380 dev queries
    train_only = load_training_table(msmarco_dir)
    assert train_only.num_rows == 11_992 and table.num_rows > 20_000
    titled_lines = (msmarco_dir / "dev_small_positive_titled.jsonl").read_text().strip().split("\n")
    titled = {row["query_id"]: row["positive_titled"] for row in map(json.loads, titled_lines)}
    untitled = 0
    for qid, positives in zip(ids, table.column("positives").to_pylist(), strict=True):
        if qid in dev_small and titled[qid].startswith("- "):
            assert positives == [titled[qid][2:]]  # the untitled placeholder is gone
            untitled += 1
    assert untitled > 1000
    with pytest.raises(ValueError, match="choose from"):
        load_training_table(msmarco_dir, ("dev600",))
