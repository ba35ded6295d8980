"""The local Hub server (tests/hub_server.py) driven by the real huggingface_hub client.

Each test runs the client in a subprocess, because huggingface_hub reads HF_ENDPOINT, HF_HOME,
HF_HUB_OFFLINE and HF_HUB_DISABLE_XET when it is imported; the test checks what came back and
what the server saw and stored.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap
import urllib.error
import urllib.request

import pytest
from hub_server import session_hub

WEIGHTS = bytes(range(256)) * 20  # binary (NUL bytes): must travel through git-LFS
CONFIG = b'{"model_type": "two_tower"}\n'


@pytest.fixture(scope="module")
def hub():
    return session_hub()


@pytest.fixture
def folder(tmp_path):
    """A small model folder: a JSON file, binary weights and a nested text file."""
    root = tmp_path / "upload"
    (root / "notes").mkdir(parents=True)
    (root / "config.json").write_bytes(CONFIG)
    (root / "weights.safetensors").write_bytes(WEIGHTS)
    (root / "notes" / "readme.txt").write_text("hello\n")
    return root


def run_client(hub, tmp_path, code: str, *args: str) -> dict:
    """Runs ``code`` (which prints one JSON line last) against ``hub`` in a fresh process."""
    env = hub.client_env(tmp_path / "hf_home", base=os.environ)
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


UPLOAD_AND_READ = """
import hashlib, json, sys
from huggingface_hub import HfApi, get_hf_file_metadata, hf_hub_download, hf_hub_url

repo, folder = sys.argv[1:]
api = HfApi()
url = api.create_repo(repo)
again = api.create_repo(repo, exist_ok=True)
commit = api.upload_folder(repo_id=repo, folder_path=folder, commit_message="Add files")
info = api.model_info(repo)
top = {e.path: type(e).__name__ for e in api.list_repo_tree(repo)}
tree = api.list_repo_tree(repo, recursive=True)
lfs = {e.path: e.lfs.sha256 if e.lfs else None for e in tree}
meta = get_hf_file_metadata(hf_hub_url(repo, "weights.safetensors"))
read = lambda p: hashlib.sha256(open(hf_hub_download(repo, p), "rb").read()).hexdigest()
print(json.dumps(dict(
    url=url, again=again, oid=commit.oid, sha=info.sha, top=top, lfs=lfs,
    siblings=[s.rfilename for s in info.siblings], downloads={p: read(p) for p in lfs},
    etag=meta.etag, size=meta.size, meta_commit=meta.commit_hash,
)))
"""


def test_upload_folder_then_read_back_through_the_client(hub, tmp_path, folder):
    put_before = len(hub.requests)
    out = run_client(hub, tmp_path, UPLOAD_AND_READ, "tester/round-trip", str(folder))

    assert out["url"] == out["again"] == f"{hub.url}/tester/round-trip"
    assert out["sha"] == out["oid"] == out["meta_commit"]
    files = [".gitattributes", "config.json", "notes/readme.txt", "weights.safetensors"]
    assert out["siblings"] == files
    assert out["top"] == {
        ".gitattributes": "RepoFile",
        "config.json": "RepoFile",
        "notes": "RepoFolder",
        "weights.safetensors": "RepoFile",
    }
    # Weights went through LFS (sha256 oid, real size); text files inline.
    assert out["lfs"]["weights.safetensors"] == sha256(WEIGHTS)
    assert out["lfs"]["config.json"] is None
    assert (out["etag"], out["size"]) == (sha256(WEIGHTS), len(WEIGHTS))
    puts = [path for method, path in hub.requests[put_before:] if method == "PUT"]
    assert puts == [f"/_lfs/{sha256(WEIGHTS)}"]
    # Every file downloads byte for byte into the fresh cache.
    assert out["downloads"]["weights.safetensors"] == sha256(WEIGHTS)
    assert out["downloads"]["config.json"] == sha256(CONFIG)
    assert out["downloads"]["notes/readme.txt"] == sha256(b"hello\n")


UPLOAD_TWICE_AND_BRANCH = """
import json, sys
from huggingface_hub import HfApi

repo, folder = sys.argv[1:]
api = HfApi()
api.create_repo(repo)
first = api.upload_folder(repo_id=repo, folder_path=folder).oid
same = api.upload_folder(repo_id=repo, folder_path=folder).oid
open(folder + "/config.json", "w").write('{"model_type": "changed"}')
changed = api.upload_folder(repo_id=repo, folder_path=folder).oid
api.create_branch(repo, branch="dev")
api.upload_file(path_or_fileobj=b"dev only", path_in_repo="dev.txt", repo_id=repo, revision="dev")
main_files = api.list_repo_files(repo)
dev_files = api.list_repo_files(repo, revision="dev")
print(json.dumps(dict(first=first, same=same, changed=changed, main=main_files, dev=dev_files,
                      main_sha=api.model_info(repo).sha)))
"""


def test_unchanged_upload_makes_no_commit_and_branches_stay_apart(hub, tmp_path, folder):
    start = len(hub.requests)
    out = run_client(hub, tmp_path, UPLOAD_TWICE_AND_BRANCH, "tester/dedup", str(folder))

    assert out["same"] == out["first"], "an unchanged upload made a new commit"
    assert out["changed"] != out["first"]
    state = hub.storage.load("models", "tester/dedup")
    assert len(state["commits"]) == 4  # initial, first upload, changed config, dev.txt on dev
    assert state["refs"]["main"] == out["main_sha"] == out["changed"]
    assert "dev.txt" in out["dev"] and "dev.txt" not in out["main"]
    commits = [
        p for m, p in hub.requests[start:] if p.startswith("/api/models/tester/dedup/commit")
    ]
    assert len(commits) == 3
    puts = [p for m, p in hub.requests[start:] if m == "PUT"]
    assert len(puts) <= 1  # the weights at most once (the blob may exist from another test)


ERRORS = """
import json, sys
from huggingface_hub import HfApi, hf_hub_download
from huggingface_hub.errors import (
    EntryNotFoundError, HfHubHTTPError, RepositoryNotFoundError, RevisionNotFoundError,
)

api, anonymous = HfApi(), HfApi(token=False)
api.create_repo("tester/private", private=True, exist_ok=True)
api.upload_file(path_or_fileobj=b"{}", path_in_repo="config.json", repo_id="tester/private")

def error(call):
    try:
        call()
    except Exception as err:
        for cls in (EntryNotFoundError, RevisionNotFoundError, RepositoryNotFoundError):
            if isinstance(err, cls):
                return cls.__name__
        return f"{type(err).__name__}:{getattr(getattr(err, 'response', None), 'status_code', '')}"
    return "ok"

print(json.dumps(dict(
    missing_file=error(lambda: hf_hub_download("tester/private", "nope.json")),
    missing_folder=error(lambda: list(api.list_repo_tree("tester/private", path_in_repo="x"))),
    missing_revision=error(lambda: api.model_info("tester/private", revision="no-branch")),
    missing_repo=error(lambda: api.model_info("tester/never-created")),
    private_with_token=error(lambda: api.model_info("tester/private")),
    private_anonymous=error(lambda: anonymous.model_info("tester/private")),
    write_anonymous=error(lambda: anonymous.create_repo("tester/anonymous")),
    existing_repo=error(lambda: api.create_repo("tester/private")),
)))
"""


def test_errors_carry_the_codes_the_client_maps_to_exceptions(hub, tmp_path):
    out = run_client(hub, tmp_path, ERRORS)

    assert out == {
        "missing_file": "EntryNotFoundError",
        "missing_folder": "EntryNotFoundError",
        "missing_revision": "RevisionNotFoundError",
        "missing_repo": "RepositoryNotFoundError",
        "private_with_token": "ok",
        "private_anonymous": "RepositoryNotFoundError",
        "write_anonymous": "HfHubHTTPError:401",
        "existing_repo": "HfHubHTTPError:409",
    }


BAD_CARD = """
import json, sys
from huggingface_hub import HfApi

api = HfApi()
api.create_repo("tester/cards", exist_ok=True)
bad = "---\\nmodel-index:\\n- name: x\\n  results:\\n  - metrics:\\n    - value: 1\\n---\\n# x\\n"
try:
    api.upload_file(path_or_fileobj=bad.encode(), path_in_repo="README.md", repo_id="tester/cards")
    outcome = "accepted"
except ValueError as err:
    outcome = str(err)
good = "---\\nlicense: mit\\n---\\n# fine\\n"
api.upload_file(path_or_fileobj=good.encode(), path_in_repo="README.md", repo_id="tester/cards")
print(json.dumps(dict(outcome=outcome, files=api.list_repo_files("tester/cards"))))
"""


def test_readme_with_broken_metadata_is_refused_before_upload(hub, tmp_path):
    start = len(hub.requests)
    out = run_client(hub, tmp_path, BAD_CARD)

    assert "Invalid metadata in README.md" in out["outcome"]
    assert "README.md" in out["files"]  # the valid card went through
    commits = [p for _, p in hub.requests[start:] if p.endswith("/commit/main")]
    assert len(commits) == 1, "the broken card reached the commit endpoint"


def test_resolve_serves_byte_ranges_and_reports_missing_files(hub, tmp_path, folder):
    run_client(hub, tmp_path, UPLOAD_AND_READ, "tester/ranges", str(folder))
    url = f"{hub.url}/tester/ranges/resolve/main/weights.safetensors"
    request = urllib.request.Request(url, headers={"Range": "bytes=100-"})
    with urllib.request.urlopen(request) as response:
        assert response.status == 206
        assert response.headers["Content-Range"] == f"bytes 100-{len(WEIGHTS) - 1}/{len(WEIGHTS)}"
        assert response.read() == WEIGHTS[100:]
    with pytest.raises(urllib.error.HTTPError) as missing:
        urllib.request.urlopen(f"{hub.url}/tester/ranges/resolve/main/nothing.bin")
    assert missing.value.code == 404
    assert missing.value.headers["X-Error-Code"] == "EntryNotFound"
