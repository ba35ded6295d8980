"""MS MARCO loaders on the real shared files: row counts from the data's README, the held-out
split."""

from data_prep.msmarco import load_msmarco, split_heldout


def test_real_train_pairs(msmarco_dir):
    table = load_msmarco(msmarco_dir / "train_pairs.jsonl")
    assert table.num_rows == 11_992  # distinct train queries (README of the data)
    assert (
        sum(len(p) for p in table.column("positives").to_pylist()) == 12_677
    )  # every pair is a positive
    train, heldout = split_heldout(table, 0.05, seed=0)
    assert heldout.num_rows == 600 and train.num_rows == 11_392
    assert not set(train.column("query_id").to_pylist()) & set(
        heldout.column("query_id").to_pylist()
    )


def test_real_v21_layout_dev600(msmarco_dir):
    table = load_msmarco(msmarco_dir / "dev600_bm25top20.jsonl")
    assert table.num_rows == 540  # 60 of the 600 queries have no selected passage
    assert all(
        len(p) + len(n) <= 20
        for p, n in zip(table["positives"].to_pylist(), table["negatives"].to_pylist(), strict=True)
    )
    assert load_msmarco(msmarco_dir / "dev600_bm25top20.jsonl", positives="all").num_rows == 600


def test_real_v2_text_pairs(msmarco_dir):
    assert load_msmarco(msmarco_dir / "train_pairs_v2text.jsonl").num_rows == 3_600
