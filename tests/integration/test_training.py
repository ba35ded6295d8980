"""scripts/train.py end to end on real MS MARCO pairs, with the checkpoint reloaded through remote
code in a process that never imports the project (the collator and one real Trainer step on a
tiny vocabulary: tests/unit/test_collator.py, tests/unit/test_trainer_step.py)."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from modeling import TwoTowerModel, TwoTowerTokenizerFast

REPO = Path(__file__).resolve().parents[2]


LOAD_ELSEWHERE = textwrap.dedent(
    """
    import json, sys
    from transformers import AutoModel, AutoTokenizer
    ckpt, texts, out = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
    tok = AutoTokenizer.from_pretrained(ckpt)
    model = AutoModel.from_pretrained(ckpt, trust_remote_code=True)
    assert "modeling" not in sys.modules, "the project package must not be imported"
    q = model.encode_queries(texts, tokenizer=tok, batch_size=3)
    p = model.encode_passages(texts, tokenizer=tok, batch_size=3)
    result = {"q": q.tolist(), "p": p.tolist(), "class": type(model).__module__}
    open(out, "w").write(json.dumps(result))
    """
)


def test_train_script_end_to_end_and_remote_code_reload(msmarco_dir, tmp_path):
    out = tmp_path / "ckpt"
    cmd = [
        sys.executable, str(REPO / "scripts/train.py"),
        "--train_file", str(msmarco_dir / "train_pairs.jsonl"), "--output_dir", str(out),
        "--max_train_queries", "1200", "--max_steps", "12", "--per_device_train_batch_size", "32",
        "--hidden_size", "32", "--passage_max_length", "64", "--disable_tqdm", "true",
        "--save_steps", "6", "--logging_steps", "4",
    ]  # fmt: skip
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=REPO)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "world_size=1" in run.stderr and "held-out recall@1" in run.stderr
    files = {p.name for p in out.iterdir()}
    code = {"configuration_two_tower.py", "modeling_two_tower.py", "towers_two_tower.py"}
    code |= {"tokenization_two_tower.py"}
    expected = {"config.json", "model.safetensors", "tokenizer.json", "train_summary.json", *code}
    assert expected <= files
    summary = json.loads((out / "train_summary.json").read_text())
    assert summary["train"]["train_loss"] > 0 and 0 <= summary["eval"]["eval_recall@1"] <= 1

    texts = ["what is the capital of france", "Paris is France's capital.", "", "zzqx unknown"]
    env = {**os.environ, "HF_HOME": str(tmp_path / "hf_home"), "HF_HUB_OFFLINE": "1"}
    env.pop("PYTHONPATH", None)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = tmp_path / "r.json"
    load = subprocess.run(
        [sys.executable, "-c", LOAD_ELSEWHERE, str(out), json.dumps(texts), str(result)],
        capture_output=True, text=True, timeout=120, cwd=elsewhere, env=env,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert load.returncode == 0, load.stderr[-3000:]
    remote = json.loads(result.read_text())
    assert remote["class"].startswith("transformers_modules")

    model = TwoTowerModel.from_pretrained(out)
    tok = TwoTowerTokenizerFast.from_pretrained(out)
    local_q = model.encode_queries(texts, tokenizer=tok)
    local_p = model.encode_passages(texts, tokenizer=tok)
    assert (torch.tensor(remote["q"]) - local_q).abs().max() < 1e-6
    assert (torch.tensor(remote["p"]) - local_p).abs().max() < 1e-6
    assert not torch.allclose(local_q, local_p)
    # The recipe's tokenizer (the default) was saved with the checkpoint: stopwords dropped.
    assert tok.convert_ids_to_tokens(tok("What is the capital of France?")["input_ids"]) == [
        "what", "capital", "france",
    ]  # fmt: skip


@pytest.mark.slow
def test_a_few_hundred_steps_beat_the_untrained_model(msmarco_dir, tmp_path):
    cmd = [
        sys.executable, str(REPO / "scripts/train.py"),
        "--train_file", str(msmarco_dir / "train_pairs.jsonl"), "--output_dir", str(tmp_path),
        "--max_steps", "300", "--disable_tqdm", "true", "--save_strategy", "no",
    ]  # fmt: skip
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=1800, cwd=REPO)
    assert run.returncode == 0, run.stderr[-3000:]
    summary = json.loads((tmp_path / "train_summary.json").read_text())
    assert summary["eval"]["eval_recall@1"] > 2 * summary["untrained"]["untrained_recall@1"]
    assert summary["eval"]["eval_loss"] < summary["untrained"]["untrained_loss"]
