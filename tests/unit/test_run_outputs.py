"""A run's output folder: an interrupted save never leaves a half model where a complete one is,
resume finds the newest finished checkpoint, and an earlier run is never silently mixed in."""

from __future__ import annotations

import json
import os

import pytest
import torch
from safetensors.torch import load_file

from modeling import TwoTowerModel, TwoTowerTokenizerFast
from modeling.training import run_outputs
from modeling.training.arguments import TwoTowerTrainingArguments
from modeling.training.hub_token import hide_hub_token
from modeling.training.run_outputs import (
    check_output_dir,
    clear_output_dir,
    last_complete_checkpoint,
)
from modeling.training.trainer import TwoTowerTrainer

WORDS = ["the", "a", "cat", "dog", "sat", "on", "mat", "what", "is", "of", "<pad>", "<unk>"]


@pytest.fixture
def trainer(tmp_path):
    torch.manual_seed(0)
    model = TwoTowerModel.from_glove(torch.randn(len(WORDS), 7), hidden_size=5)
    args = TwoTowerTrainingArguments(
        output_dir=str(tmp_path / "out"), use_cpu=True, report_to=[], wandb="disabled"
    )
    tokenizer = TwoTowerTokenizerFast.from_vocabulary(WORDS)
    return TwoTowerTrainer(model=model, args=args, processing_class=tokenizer)


def saved_weights(folder) -> dict:
    return load_file(folder / "model.safetensors")


def test_save_interrupted_while_writing_keeps_the_previous_model(trainer, tmp_path, monkeypatch):
    out = tmp_path / "out"
    trainer.save_model(str(out))
    before = saved_weights(out)
    with torch.no_grad():
        trainer.model.query_tower.rnn.weight_hh_l0.add_(1.0)

    def interrupted(self, folder, *args, **kwargs):  # Ctrl-C halfway through the weights
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, "model.safetensors"), "wb") as handle:
            handle.write(b"\x10\x00\x00\x00\x00\x00\x00\x00{")
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(TwoTowerModel, "save_pretrained", interrupted)
        with pytest.raises(KeyboardInterrupt):
            trainer.save_model(str(out))
    after = saved_weights(out)  # still the complete earlier model
    assert after.keys() == before.keys()
    assert all(torch.equal(after[k], before[k]) for k in before)
    TwoTowerModel.from_pretrained(out)

    trainer.save_model(str(out))  # the next save clears the leftover staging folder
    assert not (out / run_outputs.STAGING_NAME).exists()
    reloaded = TwoTowerModel.from_pretrained(out)
    torch.testing.assert_close(
        reloaded.query_tower.rnn.weight_hh_l0, trainer.model.query_tower.rnn.weight_hh_l0
    )


def test_save_interrupted_while_moving_leaves_no_weights_beside_new_files(
    trainer, tmp_path, monkeypatch
):
    out = tmp_path / "out"
    trainer.save_model(str(out))
    moved = []

    def replace(source, destination):
        if len(moved) == 2:
            raise KeyboardInterrupt
        moved.append(os.path.basename(destination))
        os.rename(source, destination)

    monkeypatch.setattr(run_outputs.os, "replace", replace)
    with pytest.raises(KeyboardInterrupt):
        trainer.save_model(str(out))
    assert "model.safetensors" not in moved
    assert not (out / "model.safetensors").exists()  # no old weights under a new config


def make_checkpoint(folder, step: int, whole: bool = True):
    folder.mkdir(parents=True)
    model = TwoTowerModel.from_glove(torch.randn(len(WORDS), 7), hidden_size=5)
    model.save_pretrained(folder)
    if whole:
        (folder / "trainer_state.json").write_text(json.dumps({"global_step": step}))
    return folder


def test_last_complete_checkpoint_skips_half_written_ones(tmp_path, caplog):
    make_checkpoint(tmp_path / "checkpoint-4", 4)
    make_checkpoint(tmp_path / "checkpoint-12", 12)
    cut = make_checkpoint(tmp_path / "checkpoint-16", 16) / "model.safetensors"
    cut.write_bytes(cut.read_bytes()[:-10])  # a state file, but the weights cut short
    make_checkpoint(tmp_path / "checkpoint-20", 20, whole=False)  # no trainer_state.json yet
    assert last_complete_checkpoint(tmp_path) == str(tmp_path / "checkpoint-12")
    assert "checkpoint-20: no trainer_state.json (the save was interrupted)" in caplog.text
    assert "checkpoint-16: model.safetensors is cut short" in caplog.text


def test_no_complete_checkpoint_names_what_was_skipped(tmp_path):
    make_checkpoint(tmp_path / "checkpoint-8", 8, whole=False)
    with pytest.raises(ValueError, match=r"no finished checkpoint-\* .*skipped checkpoint-8 \(no"):
        last_complete_checkpoint(tmp_path)


def test_output_dir_needs_a_flag_to_be_reused(tmp_path, monkeypatch):
    out = tmp_path / "run"
    assert check_output_dir(out, overwrite=False, resuming=False) == []  # absent: fine
    out.mkdir()
    assert check_output_dir(out, overwrite=False, resuming=False) == []  # empty: fine
    make_checkpoint(out / "checkpoint-2", 2)
    (out / "eval_results.json").write_text("{}")
    with pytest.raises(ValueError, match=r"already holds an earlier run \(checkpoint-2, eval_r"):
        check_output_dir(out, overwrite=False, resuming=False)
    assert check_output_dir(out, overwrite=False, resuming=True) == []
    assert check_output_dir(out, overwrite=True, resuming=False) == [
        "checkpoint-2",
        "eval_results.json",
    ]
    monkeypatch.chdir(out)  # clearing would delete the working directory
    with pytest.raises(ValueError, match="holds the working directory"):
        check_output_dir(out, overwrite=True, resuming=False)
    monkeypatch.chdir(tmp_path)
    clear_output_dir(out)
    assert list(out.iterdir()) == []


def test_hub_token_moves_to_the_environment_and_leaves_argv(monkeypatch):
    monkeypatch.delenv("HF_TOKEN", raising=False)
    args = TwoTowerTrainingArguments(output_dir="x", hub_token="hf_secret", report_to=[])
    argv = ["train.py", "--hub_token", "hf_secret", "--max_steps", "2", "--hub_token=hf_secret"]
    assert hide_hub_token(args, argv)
    assert argv == ["train.py", "--max_steps", "2"]
    assert args.hub_token is None and os.environ["HF_TOKEN"] == "hf_secret"
