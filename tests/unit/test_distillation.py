"""Distillation from precomputed teacher scores: the losses by hand, the table and the collator."""

from __future__ import annotations

import gzip
import json
import math

import datasets
import pyarrow as pa
import pytest
import torch

from data_prep.teacher_scores import (
    TEACHER_SCORES_FILE,
    attach_teacher_scores,
    resolve_scores_file,
    with_teacher_scores,
)
from modeling import TwoTowerTokenizerFast
from modeling.training.collator import TwoTowerCollator
from modeling.training.losses import info_nce_loss, listwise_distillation_loss, margin_mse_loss

WORDS = [
    "cats",
    "purr",
    "dogs",
    "bark",
    "fish",
    "swim",
    "birds",
    "sing",
    "what",
    "eat",
    "<pad>",
    "<unk>",
]

POOL = {
    "p1": "cats purr",
    "p1b": "cats  purr",  # the positive again, spelt with two spaces: never a candidate
    "p2": "dogs bark",
    "p3": "birds sing",
    "p4": "fish swim",
    "titled:2": "fish eat",
}


def test_listwise_kl_by_hand():
    scores = torch.tensor([[1.0, 0.0, 5.0], [0.3, 0.2, 0.1]], requires_grad=True)
    teacher = torch.tensor([[0.5, 0.5, 9.0], [0.0, 0.0, 0.0]])
    candidates = torch.tensor([[True, True, False], [True, False, False]])
    loss = listwise_distillation_loss(scores, teacher, candidates, 1.0, 1.0)
    # Row 1 covers columns 0 and 1 (column 2's scores never count): teacher (1/2, 1/2), student
    # (e/(e+1), 1/(e+1)); KL = ln((e+1)/2) - 1/2. Row 2 has one candidate: no distribution.
    assert loss.item() == pytest.approx(math.log((math.e + 1) / 2) - 0.5, rel=1e-6)
    loss.backward()
    assert scores.grad[0, 2] == 0 and scores.grad[1].abs().sum() == 0
    same = listwise_distillation_loss(teacher, teacher, candidates, 0.05, 0.05)
    assert same.item() == pytest.approx(0.0, abs=1e-6)


def test_margin_mse_by_hand():
    scores = torch.tensor([[0.9, 0.5, 0.2, 7.0]])
    teacher = torch.tensor([[0.8, 0.6, 0.1, 0.0]])
    candidates = torch.tensor([[True, True, True, False]])
    positives = torch.tensor([[True, False, False, False]])
    # Pairs (0, 1): (0.4 - 0.2)^2 = 0.04; (0, 2): (0.7 - 0.7)^2 = 0; column 3 is no candidate.
    loss = margin_mse_loss(scores, teacher, candidates, positives)
    assert loss.item() == pytest.approx(0.02, abs=1e-6)


def test_ignored_passages_leave_the_label_loss():
    q = torch.nn.functional.normalize(torch.tensor([[1.0, 0.2], [0.1, 1.0]]), dim=1)
    p = torch.nn.functional.normalize(torch.tensor([[1.0, 0.0], [0.9, 0.3], [0.0, 1.0]]), dim=1)
    positives = torch.tensor([[True, False, False], [False, False, True]])
    ignore = torch.tensor([[False, True, False], [False, False, False]])
    with_ignore = info_nce_loss(q, p, positives, temperature=0.1, ignore_mask=ignore)
    # The same as a batch where query 1 never saw column 1: its row is query 1's loss alone.
    first = info_nce_loss(q[:1], p[[0, 2]], positives[:1, [0, 2]], temperature=0.1)
    second = info_nce_loss(q[1:], p, positives[1:], temperature=0.1)
    assert with_ignore.item() == pytest.approx((first.item() + second.item()) / 2, rel=1e-6)
    assert with_ignore.item() != pytest.approx(info_nce_loss(q, p, positives, 0.1).item())


@pytest.fixture
def scored_table(tmp_path):
    """Two training queries, a teacher file naming pool ids, and the pool's texts."""
    lines = [
        {
            "query_id": 1,
            "query": "what do cats do",
            "positives": [["p1", 0.8]],
            "teacher_top50": [["p1", 0.8], ["p3", 0.7], ["p1b", 0.6], ["p4", 0.5]],
        },
        {
            "query_id": 2,
            "query": "what do fish eat",
            "positives": [["titled:2", 0.9]],
            "teacher_top50": [["p4", 0.4], ["titled:2", 0.3], ["p2", 0.2]],
        },
    ]
    path = tmp_path / "teacher.jsonl.gz"
    with gzip.open(path, "wt") as handle:
        handle.writelines(json.dumps(line) + "\n" for line in lines)
    table = pa.table(
        {
            "query_id": [1, 2],
            "query": ["what do cats do", "what do fish eat"],
            "positives": [["cats purr"], ["fish  eat"]],
            "negatives": [["dogs bark"], ["cats purr"]],
        }
    )
    return attach_teacher_scores(table, path, keep=2, pool=POOL)


def test_a_dataset_gets_the_same_columns_joined_column_wise(tmp_path, scored_table):
    canonical = scored_table.select(["query_id", "query", "positives", "negatives"])
    dataset = datasets.Dataset(canonical)
    joined = with_teacher_scores(dataset, tmp_path / "teacher.jsonl.gz", keep=2, pool=POOL)
    assert joined.column_names == scored_table.column_names
    assert joined.to_list() == scored_table.to_pylist()


def test_the_table_gets_each_querys_scored_candidates(scored_table):
    rows = scored_table.to_pylist()
    assert rows[0]["positive_scores"] == [pytest.approx(0.8)]
    assert rows[0]["teacher_passages"] == ["birds sing", "fish swim"]  # p1b is p1: skipped
    assert rows[0]["teacher_scores"] == [pytest.approx(0.7), pytest.approx(0.5)]
    assert rows[1]["positive_scores"] == [pytest.approx(0.9)]  # matched with spaces collapsed
    assert rows[1]["teacher_passages"] == ["fish swim", "dogs bark"]


def test_the_collator_carries_teacher_scores_over_the_batch_columns(scored_table):
    collator = TwoTowerCollator(
        TwoTowerTokenizerFast.from_vocabulary(WORDS), num_negatives=1, num_teacher_passages=2
    )
    batch = collator(scored_table.to_pylist())
    # Columns in order of first sight: cats purr, dogs bark, birds sing, fish swim, fish  eat.
    assert batch["passage_input_ids"].shape[0] == 5
    expected = torch.tensor([[0.8, 0, 0.7, 0.5, 0], [0, 0.2, 0, 0.4, 0.9]])
    assert torch.allclose(batch["teacher_scores"], expected)
    assert batch["teacher_mask"].tolist() == [
        [True, False, True, True, False],
        [False, True, False, True, True],
    ]
    assert batch["positive_mask"].tolist() == [
        [True, False, False, False, False],
        [False, False, False, False, True],
    ]
    plain = TwoTowerCollator(TwoTowerTokenizerFast.from_vocabulary(WORDS), num_negatives=1)
    assert "teacher_scores" not in plain(scored_table.to_pylist())


def test_a_query_missing_from_the_teacher_file_trains_on_labels_alone(tmp_path, scored_table):
    table = pa.table({"query_id": [3], "query": ["q"], "positives": [["x"]], "negatives": [[]]})
    (row,) = attach_teacher_scores(table, tmp_path / "teacher.jsonl.gz", pool={}).to_pylist()
    assert (row["positive_scores"], row["teacher_passages"], row["teacher_scores"]) == ([], [], [])
    collate = TwoTowerCollator(TwoTowerTokenizerFast.from_vocabulary(WORDS), num_teacher_passages=2)
    assert "teacher_scores" not in collate([row, row | {"query": "cats", "positives": ["fish"]}])


def test_the_recipes_teacher_file_is_looked_up_in_the_msmarco_folder(tmp_path):
    (tmp_path / TEACHER_SCORES_FILE).write_bytes(b"")
    assert resolve_scores_file(TEACHER_SCORES_FILE, tmp_path) == tmp_path / TEACHER_SCORES_FILE
    assert resolve_scores_file("none", tmp_path) is None
    assert resolve_scores_file(TEACHER_SCORES_FILE, tmp_path / "elsewhere") is None  # warned
    with pytest.raises(ValueError, match="--teacher_scores none"):
        resolve_scores_file(str(tmp_path / "missing.jsonl.gz"), tmp_path)


@pytest.mark.parametrize("distill_loss", ["kl", "margin_mse"])
def test_the_trainer_adds_the_weighted_loss_and_spares_teacher_candidates(
    scored_table, tmp_path, distill_loss
):
    from modeling import TwoTowerModel
    from modeling.training.arguments import TwoTowerTrainingArguments
    from modeling.training.trainer import TwoTowerTrainer

    tokenizer = TwoTowerTokenizerFast.from_vocabulary(WORDS)
    collate = TwoTowerCollator(tokenizer, num_negatives=1, num_teacher_passages=2)
    batch = collate(scored_table.to_pylist())
    torch.manual_seed(0)
    model = TwoTowerModel.from_glove(torch.randn(len(WORDS), 5), hidden_size=7)
    args = TwoTowerTrainingArguments(
        output_dir=str(tmp_path),
        distill_loss=distill_loss,
        distill_weight=0.5,
        teacher_temperature=0.1,
        report_to="none",
    )
    trainer = TwoTowerTrainer(model=model, args=args, data_collator=collate)
    model.train()
    loss = trainer.compute_loss(model, dict(batch))
    with torch.no_grad():
        inputs = {k: v for k, v in batch.items() if k.startswith(("query_", "passage_"))}
        out = model(**inputs)
        scores = out.query_embeds @ out.passage_embeds.T
        positives, graded = batch["positive_mask"], batch["teacher_mask"]
        label = info_nce_loss(
            out.query_embeds, out.passage_embeds, positives, ignore_mask=graded & ~positives
        )
        if distill_loss == "kl":
            distill = listwise_distillation_loss(scores, batch["teacher_scores"], graded, 0.05, 0.1)
        else:
            distill = margin_mse_loss(scores, batch["teacher_scores"], graded, positives)
    assert loss.item() == pytest.approx((label + 0.5 * distill).item(), rel=1e-5)
    assert label.item() != pytest.approx(
        info_nce_loss(out.query_embeds, out.passage_embeds, positives).item()
    )  # the spared candidates changed the label loss
