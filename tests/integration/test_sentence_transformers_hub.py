"""A checkpoint pushed to the (local) Hub loads by repo id as ``SentenceTransformer(repo_id,
trust_remote_code=True)`` in a fresh process outside the repository, with the model's own
query and passage vectors, whichever way it was pushed: scripts/push_to_hub.py,
``model.push_to_hub`` or ``save_pretrained(push_to_hub=True)``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from hub_server import session_hub

from modeling import TwoTowerModel, TwoTowerTokenizerFast

pytest.importorskip("sentence_transformers")

REPO = Path(__file__).resolve().parents[2]
WORDS = ["the", "a", "cat", "dog", "sat", "on", "mat", "what", "is", "where", "?"]
WORDS += ["<pad>", "<unk>"]
QUERIES = ["what is the cat", "", "where is a dog ? the cat sat on the mat", "zebra"]
PASSAGES = ["the cat sat on the mat", "", "a dog sat on the mat , the cat is on a dog"]
ST_FILES = {
    "modules.json",
    "config_sentence_transformers.json",
    "sentence_transformer_two_tower.py",
}

PUSH_FROM_PYTHON = """
import sys
from modeling import TwoTowerModel, TwoTowerTokenizerFast

folder, resaved = sys.argv[1:3]
model = TwoTowerModel.from_pretrained(folder)
tokenizer = TwoTowerTokenizerFast.from_pretrained(folder)
for repo in ("tester/st-push", "tester/st-save"):
    tokenizer.push_to_hub(repo)
model.push_to_hub("tester/st-push")
model.save_pretrained(resaved, push_to_hub=True, repo_id="tester/st-save")
"""

LOAD = """
import json, sys
from huggingface_hub import HfApi
from sentence_transformers import SentenceTransformer

queries, passages, out = json.loads(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3]
results = {}
for repo in sys.argv[4:]:
    files = sorted(e.path for e in HfApi().list_repo_tree(repo, recursive=True))
    try:
        model = SentenceTransformer(repo, trust_remote_code=True)
        results[repo] = dict(
            files=files,
            module=type(model[0]).__module__,
            similarity=model.similarity_fn_name,
            queries=model.encode_query(queries, convert_to_tensor=True).tolist(),
            passages=model.encode_document(passages, convert_to_tensor=True).tolist(),
        )
    except Exception as err:  # reported by the test of this repo
        results[repo] = dict(files=files, error=repr(err))
results["project_imported"] = "modeling" in sys.modules
open(out, "w").write(json.dumps(results))
"""


def run(hub, tmp_path: Path, argv: list[str], cwd: Path = REPO) -> None:
    """Runs ``argv`` as a Hub client of ``hub`` with an empty cache of its own."""
    home = tmp_path / f"hf_home_{len(list(tmp_path.glob('hf_home_*')))}"
    env = hub.client_env(home, base=os.environ)
    proc = subprocess.run(
        argv,
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    """Pushes one tiny checkpoint three ways, then loads all three repos in a fresh process."""
    hub, tmp_path = session_hub(), tmp_path_factory.mktemp("st_hub")
    torch.manual_seed(0)
    model = TwoTowerModel.from_glove(
        torch.randn(13, 7), hidden_size=5, lexical_buckets=16, query_max_length=3
    ).eval()
    tokenizer = TwoTowerTokenizerFast.from_vocabulary(WORDS)
    folder = tmp_path / "tiny"
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)

    script = [sys.executable, str(REPO / "scripts" / "push_to_hub.py"), "--checkpoint_dir"]
    run(hub, tmp_path, [*script, str(folder), "--repo_id", "tester/st-script"])
    python = [sys.executable, "-c", textwrap.dedent(PUSH_FROM_PYTHON), str(folder)]
    run(hub, tmp_path, [*python, str(tmp_path / "resaved")])

    outside = tmp_path / "elsewhere"
    outside.mkdir()
    out = tmp_path / "loaded.json"
    argv = [sys.executable, "-c", textwrap.dedent(LOAD), json.dumps(QUERIES), json.dumps(PASSAGES)]
    run(hub, tmp_path, [*argv, str(out), "tester/st-script", "tester/st-push", "tester/st-save"])
    expected = {
        "queries": model.encode_queries(QUERIES, tokenizer=tokenizer),
        "passages": model.encode_passages(PASSAGES, tokenizer=tokenizer),
    }
    return json.loads(out.read_text()), expected


@pytest.mark.parametrize("repo", ["tester/st-script", "tester/st-push", "tester/st-save"])
def test_pushed_repo_loads_as_sentence_transformer_with_the_models_vectors(loaded, repo):
    results, expected = loaded
    got = results[repo]
    assert set(got["files"]) >= ST_FILES, got["files"]
    assert "error" not in got, got["error"]
    assert got["module"].startswith("transformers_modules.")  # the repo's module file ran
    assert got["similarity"] == "dot"
    assert (torch.tensor(got["queries"]) - expected["queries"]).abs().max() < 1e-6
    assert (torch.tensor(got["passages"]) - expected["passages"]).abs().max() < 1e-6
    assert not results["project_imported"], "the local package was imported instead of Hub code"
