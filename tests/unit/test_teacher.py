"""Distillation plumbing: teacher tables, their lookups, the collator's teacher vectors, the loss.

The teacher here is a small deterministic stand-in (MiniLM takes minutes on CPU); what it checks
is that every text gets its own vector, in the batch's order, and that the trainer adds the loss.
"""

import numpy as np
import pyarrow.parquet as pq
import pytest
import torch
from script_loader import load_script
from tiny import tiny_texts, write_tiny_corpus

import data_prep.teacher
import modeling.retrieval.baselines
from data_prep.msmarco import save_canonical, to_canonical
from data_prep.teacher import TeacherVectors, build_teacher_table, table_texts, teacher_path
from modeling import TwoTowerModel, TwoTowerTokenizerFast
from modeling.retrieval.encoders import EmbeddingCache, SymmetricEncoder
from modeling.training.arguments import TwoTowerTrainingArguments
from modeling.training.collator import TwoTowerCollator
from modeling.training.losses import distillation_loss, info_nce_loss
from modeling.training.trainer import TwoTowerTrainer


class CountingEncoder(SymmetricEncoder):
    """Vector of a text: its length and first letters; remembers what it was asked to encode."""

    name = "counting"
    cache_key = "counting-v1"

    def __init__(self):
        self.seen: list[str] = []

    def _encode(self, texts, progress_bar):
        self.seen += list(texts)
        rows = [[len(t), ord(t[0]), ord(t[-1])] for t in texts]
        vectors = np.asarray(rows, np.float32)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


@pytest.fixture
def table():
    """12 queries of the tiny vocabulary's words, one or two positives each."""
    queries, passages = tiny_texts(12, seed=3), tiny_texts(15, seed=4)
    pairs = [{"query_id": i, "query": q, "pid": 100 + i, "passage": passages[i]}
             for i, q in enumerate(queries)]  # fmt: skip
    pairs += [{"query_id": i, "query": queries[i], "pid": 200 + i, "passage": passages[12 + i]}
              for i in range(3)]  # fmt: skip
    return to_canonical(pairs, "tiny pairs")


def test_teacher_table_covers_every_text_and_reuses_the_cache(table, tmp_path):
    queries, passages = table_texts(table)
    cache = EmbeddingCache(tmp_path / "cache")
    encoder = CountingEncoder()
    cache.encode_passages(encoder, passages[:5])  # as the evaluation would have
    encoder.seen.clear()
    teacher = build_teacher_table(table, encoder, cache, extra_passages=passages[:5])
    assert not set(encoder.seen) & set(passages[:5])  # read back from the cache
    assert teacher.column("text").to_pylist() == list(dict.fromkeys(queries + passages))
    path = teacher_path(tmp_path / "train.parquet")
    assert path.name == "train.teacher.parquet"
    pq.write_table(teacher, path)
    lookup = TeacherVectors(path)
    texts = [passages[3], queries[0], passages[-1]]
    np.testing.assert_allclose(lookup(texts), encoder.encode_passages(texts), atol=1e-7)


def test_teacher_lookup_errors_name_the_fix(table, tmp_path):
    pq.write_table(table, tmp_path / "not_teacher.parquet")
    with pytest.raises(ValueError, match="--teacher minilm"):
        TeacherVectors(tmp_path / "not_teacher.parquet")
    pq.write_table(build_teacher_table(table, CountingEncoder()), tmp_path / "t.parquet")
    with pytest.raises(KeyError, match="rebuild the teacher table"):
        TeacherVectors(tmp_path / "t.parquet")(["a text it never saw"])


def test_collator_teacher_vectors_follow_the_passage_columns():
    tok = TwoTowerTokenizerFast.from_vocabulary(["a", "b", "c", "d", "<pad>", "<unk>"])
    vectors = {t: np.full(3, i, np.float32) for i, t in enumerate("abcd")}
    rows = [
        {"query": "a", "positives": ["b", "c"], "negatives": ["d"]},
        {"query": "b", "positives": ["c"], "negatives": []},
    ]
    collate = TwoTowerCollator(tok, num_negatives=1, teacher=lambda ts: np.stack(
        [vectors[t] for t in ts]))  # fmt: skip
    batch = collate(rows)
    assert batch["teacher_query_embeds"][:, 0].tolist() == [0, 1]  # "a", "b"
    assert batch["teacher_passage_embeds"][:, 0].tolist() == [1, 2, 3]  # columns "b", "c", "d"


def test_trainer_adds_the_weighted_distillation_loss(table, tiny_vocab, tiny_tokenizer, tmp_path):
    pq.write_table(build_teacher_table(table, CountingEncoder()), tmp_path / "t.parquet")
    collate = TwoTowerCollator(tiny_tokenizer, teacher=TeacherVectors(tmp_path / "t.parquet"))
    batch = collate(table.to_pylist()[:8])
    model = TwoTowerModel.from_glove(torch.from_numpy(tiny_vocab.vectors), hidden_size=7)
    args = TwoTowerTrainingArguments(
        output_dir=str(tmp_path), distill_weight=0.5, teacher_temperature=0.1, report_to="none"
    )
    trainer = TwoTowerTrainer(model=model, args=args, data_collator=collate)
    model.train()
    loss = trainer.compute_loss(model, dict(batch))
    with torch.no_grad():
        out = model(**{k: v for k, v in batch.items() if k.endswith(("ids", "mask"))
                       and k != "positive_mask"})  # fmt: skip
        q, p = out.query_embeds, out.passage_embeds
        expected = info_nce_loss(q, p, batch["positive_mask"]) + 0.5 * distillation_loss(
            q, p, batch["teacher_query_embeds"], batch["teacher_passage_embeds"],
            teacher_temperature=0.1,
        )  # fmt: skip
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)
    model.eval()  # evaluation reports the main loss alone
    assert trainer.compute_loss(model, dict(batch)).item() == pytest.approx(
        info_nce_loss(q, p, batch["positive_mask"]).item(), rel=1e-5
    )


def test_build_training_set_reuse_table_adds_teacher_vectors_without_rebuilding(
    tmp_path, monkeypatch
):
    script = load_script("build_training_set")
    data_dir = tmp_path / "data"  # the script reads corpus.tsv for the teacher's extra passages
    data_dir.mkdir()
    write_tiny_corpus(data_dir / "corpus.tsv", count=5)
    output = tmp_path / "table.parquet"
    table = to_canonical(
        [{"query_id": 1, "query": "what is a cat", "passage": "A cat is a small animal."}], "t"
    )
    save_canonical(table, output)
    written = output.read_bytes()

    def no_rebuild(*args, **kwargs):
        raise AssertionError("--reuse_table rebuilt the table")

    teacher_inputs = []

    def fake_teacher(table, encoder, extra_passages=None):
        teacher_inputs.append(table)
        return build_teacher_table(table, CountingEncoder(), EmbeddingCache(tmp_path / "cache"))

    monkeypatch.setattr(script, "load_training_table", no_rebuild)
    monkeypatch.setattr(data_prep.teacher, "build_teacher_table", fake_teacher)
    monkeypatch.setattr(modeling.retrieval.baselines, "MiniLMEncoder", lambda: None)
    script.main(["--data_dir", str(data_dir), "--output", str(output), "--reuse_table",
                 "--teacher", "minilm"])  # fmt: skip
    assert output.read_bytes() == written
    assert teacher_inputs[0].column("query").to_pylist() == ["what is a cat"]
    vectors = TeacherVectors(teacher_path(output))
    assert vectors(["what is a cat", "A cat is a small animal."]).shape[0] == 2


@pytest.mark.parametrize(
    ("flags", "message"),
    [(["--teacher", "minilm"], "does not exist"), ([], "pass --teacher minilm")],
)
def test_build_training_set_reuse_table_refuses_what_it_cannot_reuse(
    tmp_path, capsys, flags, message
):
    script = load_script("build_training_set")
    output = tmp_path / "missing.parquet"
    with pytest.raises(SystemExit):
        script.main(["--data_dir", str(tmp_path), "--output", str(output), "--reuse_table", *flags])
    assert message in capsys.readouterr().err
    assert not output.exists()  # nothing was built behind the user's back
