"""Sharing end to end against the local Hub server: scripts/push_to_hub.py pushes a trained
checkpoint with its model card, a fresh process loads it back with remote code, and
scripts/train.py --push_to_hub goes through Trainer.push_to_hub.

The checkpoint is trained here for a few steps with plain torch (in-batch softmax over toy
queries), not by the real trainer, so that the test takes seconds.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import textwrap
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from hub_server import session_hub
from huggingface_hub import ModelCard
from tiny import TINY_EVAL

from modeling import TwoTowerModel, TwoTowerTokenizerFast

REPO = Path(__file__).resolve().parents[2]
WORDS = ["the", "a", "cat", "dog", "sat", "on", "mat", "what", "is", "where", "?"]
WORDS += ["<pad>", "<unk>"]  # 13 rows, as TwoTowerModel.from_glove expects them last
QUERIES = ["what is the cat", "where is a dog ?", "the mat", "zebra crossing"]  # zebra: <unk>
PASSAGES = ["the cat sat on the mat", "a dog sat", "what is a mat ?", "on the dog"]
EVAL = {
    **TINY_EVAL,
    "all-MiniLM-L6-v2": {"dev600-rerank/MRR@10": 0.585, "dl19-pool/nDCG@10": 0.641},
}


@dataclass
class Trained:
    folder: Path
    model: TwoTowerModel
    tokenizer: TwoTowerTokenizerFast
    eval_json: Path


@pytest.fixture(scope="module")
def hub():
    return session_hub()


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Trained:
    """A checkpoint trained for 8 steps, saved as scripts/train.py saves it."""
    torch.manual_seed(0)
    model = TwoTowerModel.from_glove(torch.randn(13, 7), hidden_size=5, lexical_buckets=16)
    tokenizer = TwoTowerTokenizerFast.from_vocabulary(WORDS)
    q, p = tokenizer.encode_queries(QUERIES), tokenizer.encode_passages(PASSAGES)
    optimizer = torch.optim.Adam([w for w in model.parameters() if w.requires_grad], lr=0.05)
    losses = []
    for _ in range(8):
        scores = model(q["input_ids"], q["attention_mask"], p["input_ids"], p["attention_mask"])
        loss = F.cross_entropy(scores.scores / 0.1, torch.arange(len(QUERIES)))  # (B, B) logits
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        losses.append(loss.item())
    assert losses[-1] < losses[0], "the toy training did not learn"
    model.eval()
    folder = tmp_path_factory.mktemp("checkpoints") / "two_tower_tiny"
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    summary = {"data": {"train_file": "toy"}, "train": {"train_loss": losses[-1]}, "world_size": 1}
    (folder / "train_summary.json").write_text(json.dumps(summary))
    eval_json = folder.parent / "eval.json"
    eval_json.write_text(json.dumps(EVAL))
    return Trained(folder, model, tokenizer, eval_json)


def run(hub, tmp_path: Path, argv: list[str], cwd: Path = REPO, drop: tuple = (), **env):
    """Runs a command as a Hub client of ``hub`` with an empty HF_HOME under ``tmp_path``."""
    home = tmp_path / f"hf_home_{len(list(tmp_path.glob('hf_home_*')))}"
    assert not home.exists()  # every client starts with an empty cache
    full_env = {**hub.client_env(home, base=os.environ), **env}
    for name in drop:
        full_env.pop(name)
    proc = subprocess.run(argv, cwd=cwd, env=full_env, capture_output=True, text=True, timeout=300)
    return proc


def push(hub, tmp_path, folder: Path, repo_id: str, *extra: str, ok: bool = True, **kwargs):
    """Runs scripts/push_to_hub.py from the repo root as a fresh process."""
    script = str(REPO / "scripts" / "push_to_hub.py")
    argv = [sys.executable, script, "--checkpoint_dir", str(folder), "--repo_id", repo_id, *extra]
    proc = run(hub, tmp_path, argv, **kwargs)
    assert (proc.returncode == 0) == ok, proc.stderr[-4000:]
    return proc


LOAD = """
import json, sys
from huggingface_hub import HfApi, hf_hub_download
from transformers import AutoModel, AutoTokenizer

repo, queries, passages, out = sys.argv[1], *map(json.loads, sys.argv[2:4]), sys.argv[4]
tokenizer = AutoTokenizer.from_pretrained(repo)  # a standard fast tokenizer: no remote code
model = AutoModel.from_pretrained(repo, trust_remote_code=True)
open(out, "w").write(json.dumps(dict(
    model_class=f"{type(model).__module__}.{type(model).__name__}",
    tokenizer_class=type(tokenizer).__name__,
    project_imported="modeling" in sys.modules,
    queries=model.encode_queries(queries, tokenizer=tokenizer).tolist(),
    passages=model.encode_passages(passages, tokenizer=tokenizer).tolist(),
    readme=open(hf_hub_download(repo, "README.md"), encoding="utf-8").read(),
    lfs={e.path: e.lfs is not None for e in HfApi().list_repo_tree(repo, recursive=True)},
)))  # a file, not stdout: transformers prints its remote-code question there
"""


@pytest.fixture(scope="module")
def pushed(hub, trained, tmp_path_factory) -> dict:
    """Pushes the checkpoint (private repo), then loads it in a fresh process outside the repo."""
    tmp_path = tmp_path_factory.mktemp("pushed")
    evaluation = ["--eval_results", str(trained.eval_json)]
    push(hub, tmp_path, trained.folder, "tester/tiny-two-tower", "--private", *evaluation)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    assert not outside.resolve().is_relative_to(REPO)
    argv = [sys.executable, "-c", textwrap.dedent(LOAD), "tester/tiny-two-tower"]
    argv += [json.dumps(QUERIES), json.dumps(PASSAGES), str(tmp_path / "loaded.json")]
    proc = run(hub, tmp_path, argv, cwd=outside)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads((tmp_path / "loaded.json").read_text())


def test_pushed_checkpoint_loads_in_a_fresh_process_with_identical_embeddings(trained, pushed):
    assert pushed["model_class"].startswith("transformers_modules.")  # the repo's code ran
    assert pushed["model_class"].endswith(".TwoTowerModel")
    assert not pushed["project_imported"], "the local package was imported instead of the Hub code"
    assert pushed["tokenizer_class"] == "TokenizersBackend"  # transformers' own fast tokenizer
    expected_q = trained.model.encode_queries(QUERIES, tokenizer=trained.tokenizer)
    expected_p = trained.model.encode_passages(PASSAGES, tokenizer=trained.tokenizer)
    assert (torch.tensor(pushed["queries"]) - expected_q).abs().max() < 1e-6
    assert (torch.tensor(pushed["passages"]) - expected_p).abs().max() < 1e-6
    assert pushed["lfs"] == {
        ".gitattributes": False,
        "README.md": False,
        "config.json": False,
        "config_sentence_transformers.json": False,  # SentenceTransformer(repo) loads it too
        "configuration_two_tower.py": False,
        "eval_results.json": False,
        "model.safetensors": True,  # weights through LFS
        "modeling_two_tower.py": False,
        "modules.json": False,
        "sentence_transformer_two_tower.py": False,
        "tokenization_two_tower.py": False,
        "towers_two_tower.py": False,
        "tokenizer.json": False,
        "tokenizer_config.json": False,
    }


def test_private_flag_hides_the_repo_from_anonymous_clients(hub, pushed):
    url = f"{hub.url}/api/models/tester/tiny-two-tower"
    with pytest.raises(urllib.error.HTTPError) as anonymous:
        urllib.request.urlopen(url)
    assert anonymous.value.code == 401
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {hub.token}"})
    with urllib.request.urlopen(request) as response:
        assert json.load(response)["private"] is True


def test_pushed_readme_is_a_model_card_with_the_evaluation_numbers(pushed):
    card = ModelCard(pushed["readme"], ignore_metadata_errors=False)  # metadata must parse
    data = card.data
    assert data.library_name == "transformers"
    assert data.datasets == ["microsoft/ms_marco"] and data.license == "apache-2.0"
    assert {"sentence-similarity", "feature-extraction", "two-tower"} <= set(data.tags)
    own = EVAL["two_tower_tiny"]
    assert data.model_name == "tiny-two-tower"
    assert sorted(r.metric_value for r in data.eval_results) == sorted(
        v for k, v in own.items() if "/" in k
    )
    assert {r.metric_type for r in data.eval_results} == {
        "mrr_at_10",
        "recall_at_100",
        "ndcg_at_10",
    }

    results = card.text.split("## Results")[1].split("\n## ")[0]
    rows = [line.strip("|").split("|") for line in results.splitlines() if line.startswith("|")]
    header, table = [c.strip() for c in rows[0]], {r[0].strip(): r[1:] for r in rows[2:]}
    assert set(table) == {"**tiny-two-tower** (this model)", "BM25", "all-MiniLM-L6-v2"}
    for system, values in EVAL.items():
        row = table["**tiny-two-tower** (this model)" if system == "two_tower_tiny" else system]
        cells = dict(zip(header[1:], (c.strip() for c in row), strict=True))
        for metric, cell in cells.items():
            value = values.get(metric)
            assert cell == (
                "–" if value is None else f"{value:,.0f}" if value >= 100 else f"{value:.3f}"
            )
    assert 'repo = "tester/tiny-two-tower"' in card.text  # the usage snippet
    assert "| `train.train_loss` |" in card.text  # the training summary found in the folder
    assert "| pooling | attention over tokens (a mean weighted by a learned score" in card.text
    assert "then a 16-bucket hashed bag of the text's words weighted by term weights" in card.text


def test_pushing_the_same_checkpoint_again_makes_no_commit(hub, trained, pushed, tmp_path):
    before = hub.storage.load("models", "tester/tiny-two-tower")
    start = len(hub.requests)
    evaluation = ["--eval_results", str(trained.eval_json)]
    proc = push(hub, tmp_path, trained.folder, "tester/tiny-two-tower", *evaluation)

    after = hub.storage.load("models", "tester/tiny-two-tower")
    assert after["refs"] == before["refs"] and len(after["commits"]) == len(before["commits"])
    assert not [p for _, p in hub.requests[start:] if "/commit/" in p]
    assert "no commit made" in proc.stderr


def test_revision_branch_with_token_from_env_file(hub, trained, pushed, tmp_path):
    (tmp_path / "secrets.env").write_text(f"HF_TOKEN={hub.token}\n")
    changed = tmp_path / "eval.json"
    changed.write_text(json.dumps({**EVAL, "BM25": {"dev600-rerank/MRR@10": 0.4}}))
    main_before = hub.storage.load("models", "tester/tiny-two-tower")["refs"]["main"]
    argv = ["--eval_results", str(changed), "--revision", "rerun"]
    argv += ["--env_file", str(tmp_path / "secrets.env")]
    proc = push(hub, tmp_path, trained.folder, "tester/tiny-two-tower", *argv, drop=("HF_TOKEN",))

    state = hub.storage.load("models", "tester/tiny-two-tower")
    assert state["refs"]["main"] == main_before
    assert state["refs"]["rerun"] != main_before
    readme = state["commits"][state["refs"]["rerun"]]["files"]["README.md"]
    assert "| BM25 | 0.400 |" in hub.storage.blob(readme["sha256"]).read_text()
    assert hub.token not in proc.stdout + proc.stderr, "the token was logged"


def test_incomplete_folder_is_refused_before_any_request(hub, trained, tmp_path):
    folder = tmp_path / "incomplete"
    shutil.copytree(trained.folder, folder)
    for name in ("model.safetensors", "tokenizer.json", "modeling_two_tower.py"):
        (folder / name).unlink()
    start = len(hub.requests)
    proc = push(hub, tmp_path, folder, "tester/incomplete", ok=False)

    assert proc.returncode == 2
    assert "Nothing was pushed" in proc.stderr
    named = ["model.safetensors (weights)", "tokenizer.json (tokenizer)"]
    for missing in [*named, "modeling_two_tower.py (remote code"]:
        assert missing in proc.stderr
    assert "config.json (" not in proc.stderr  # present files are not blamed
    assert hub.requests[start:] == [], "the script talked to the Hub before refusing"


def test_train_script_push_to_hub_uploads_weights_and_code(hub, tmp_path):
    """scripts/train.py --push_to_hub --hub_model_id: Trainer.push_to_hub against the server."""
    rng = random.Random(0)
    words = ["the", "a", "cat", "dog", "sat", "on", "mat", "what", "is", "where", "of", "and"]
    vectors = [" ".join(f"{rng.uniform(-1, 1):.4f}" for _ in range(7)) for _ in words]
    glove = tmp_path / "glove.toy.7d.txt"
    glove.write_text("".join(f"{w} {v}\n" for w, v in zip(words, vectors, strict=True)))
    for name, count in (("train.jsonl", 8), ("eval.jsonl", 4)):
        pairs = [
            {"query_id": i, "query": f"what is the {w}", "passage": f"the {w} sat on a mat"}
            for i, w in enumerate(words[:count])
        ]
        (tmp_path / name).write_text("".join(json.dumps(p) + "\n" for p in pairs))
    argv = [sys.executable, str(REPO / "scripts" / "train.py"), "--glove", str(glove)]
    argv += [
        "--train_file",
        str(tmp_path / "train.jsonl"),
        "--eval_file",
        str(tmp_path / "eval.jsonl"),
    ]
    argv += ["--hidden_size", "4", "--max_steps", "2", "--per_device_train_batch_size", "4"]
    argv += ["--per_device_eval_batch_size", "4", "--save_strategy", "no", "--wandb", "disabled"]
    argv += [
        "--output_dir",
        str(tmp_path / "out"),
        "--push_to_hub",
        "--hub_model_id",
        "tester/trained",
    ]
    proc = run(hub, tmp_path, argv, WANDB_MODE="disabled")
    assert proc.returncode == 0, proc.stderr[-4000:]

    state = hub.storage.load("models", "tester/trained")
    files = state["commits"][state["refs"]["main"]]["files"]
    expected = {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"}
    expected |= {"configuration_two_tower.py", "modeling_two_tower.py", "towers_two_tower.py"}
    expected |= {"tokenization_two_tower.py"}
    expected |= {"modules.json", "config_sentence_transformers.json"}  # SentenceTransformer(repo)
    expected |= {"sentence_transformer_two_tower.py"}
    assert expected <= set(files)
    assert files["model.safetensors"]["lfs"]
    config = json.loads(hub.storage.blob(files["config.json"]["sha256"]).read_text())
    assert config["auto_map"]["AutoModel"] == "modeling_two_tower.TwoTowerModel"
    assert "train_summary.json" in files  # written before save_model pushes
    card = hub.storage.blob(files["README.md"]["sha256"]).read_text()
    assert (
        "two-tower" in card and "generated_from_trainer" not in card
    )  # our card, not the stock one
