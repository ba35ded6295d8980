"""The training collator: one column per distinct passage, labels aligned to the columns."""

from modeling import TwoTowerTokenizerFast
from modeling.training.collator import TwoTowerCollator


def test_collator_deduplicates_passages_and_aligns_labels():
    tok = TwoTowerTokenizerFast.from_vocabulary(["a", "b", "c", "d", "<pad>", "<unk>"])
    rows = [
        {"query": "a", "positives": ["b", "c"], "negatives": ["d"]},
        {"query": "b", "positives": ["c"], "negatives": []},
    ]
    batch = TwoTowerCollator(tok, num_negatives=1)(rows)
    # Columns: "b", "c" (shared by both queries), "d" (a hard negative of query 0).
    assert batch["positive_mask"].tolist() == [[True, True, False], [False, True, False]]
    assert batch["passage_input_ids"][:, 0].tolist() == [1, 2, 3]
    assert batch["query_input_ids"].shape == (2, 1)
    capped = TwoTowerCollator(tok, max_positives=1, seed=3)(rows)
    assert capped["positive_mask"].sum(dim=1).tolist() == [1, 1]
