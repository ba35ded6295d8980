"""One real Trainer step (TwoTowerTrainer, the collator, AdamW) on a 13-word vocabulary: the towers
learn, the frozen embeddings stay as loaded."""

import datasets
import torch
from tiny import tiny_texts

from data_prep.msmarco import to_canonical
from modeling import TwoTowerModel
from modeling.training.arguments import TwoTowerTrainingArguments
from modeling.training.collator import TwoTowerCollator
from modeling.training.trainer import TwoTowerTrainer


def test_one_real_trainer_step_changes_the_weights(tiny_vocab, tiny_tokenizer, tmp_path):
    queries, passages = tiny_texts(16, seed=1), tiny_texts(16, seed=2)
    pairs = [
        {"query_id": i, "query": q, "pid": 100 + i, "passage": p}
        for i, (q, p) in enumerate(zip(queries, passages, strict=True))
    ]
    table = to_canonical(pairs, "tiny pairs")
    model = TwoTowerModel.from_glove(torch.from_numpy(tiny_vocab.vectors), hidden_size=7)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    args = TwoTowerTrainingArguments(
        output_dir=str(tmp_path), max_steps=1, per_device_train_batch_size=8, save_strategy="no",
        disable_tqdm=True, learning_rate=0.01, report_to="none",
    )  # fmt: skip
    trainer = TwoTowerTrainer(
        model=model, args=args, train_dataset=datasets.Dataset(table),
        data_collator=TwoTowerCollator(tiny_tokenizer), processing_class=tiny_tokenizer,
    )  # fmt: skip
    result = trainer.train()
    assert result.global_step == 1 and result.training_loss > 0
    after = model.state_dict()
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert "query_tower.rnn.weight_ih_l0" in changed and "passage_tower.rnn.weight_hh_l0" in changed
    assert "embeddings.weight" not in changed  # frozen GloVe by default
