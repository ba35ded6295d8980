"""A local server speaking enough of the Hugging Face Hub API for the real client code.

Tests point ``HF_ENDPOINT`` at it (127.0.0.1, a free port) and run unmodified ``huggingface_hub``
and ``transformers`` code: ``create_repo``, ``upload_folder``/``create_commit``/``push_to_hub``
(text inline, weights through git-LFS), ``create_branch``, ``repo_info``, ``list_repo_tree`` and
``resolve`` downloads with the headers the client checks (see ../shared/docs/OFFLINE_STACK.md).
On disk: one JSON file per repo (branches, commits with their file tables), blobs by sha256.
Deliberately left out: Xet (clients set ``HF_HUB_DISABLE_XET=1``), pull requests, tags, deletions,
commit listing, pagination, ``.gitignore``, several users. Outside tests, a standalone server:
``LocalHub("hub_dir", port=8000).httpd.serve_forever()``.
"""

from __future__ import annotations

import atexit
import base64
import functools
import hashlib
import json
import re
import shutil
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from huggingface_hub import ModelCard

# Paths stored in LFS, as in the .gitattributes the Hub writes into every new repo.
LFS_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".onnx", ".h5", ".npy", ".zip")
LFS_MIN_SIZE = 10 * 1024 * 1024  # the Hub stores any file of 10 MB or more in LFS
GITATTRIBUTES = "".join(f"*{s} filter=lfs diff=lfs merge=lfs -text\n" for s in LFS_SUFFIXES)
PREFIX = r"^/(?:(datasets|spaces)/)?([^/]+)/([^/]+)"  # /[datasets/]namespace/name
RESOLVE = re.compile(PREFIX + r"/resolve/([^/]+)/(.+)$")
LFS_BATCH = re.compile(PREFIX + r"\.git/info/lfs/objects/batch$")
API_REPO = re.compile(r"^/api/(models|datasets|spaces)/([^/]+)/([^/]+)(?:/(.*))?$")
LFS_OBJECT = re.compile(r"^/_lfs/([0-9a-f]{64})$")
TRUE, ISO_TIME = ("1", "true", "True"), "%Y-%m-%dT%H:%M:%S.000Z"
LFS_SPEC = "https://git-lfs.github.com/spec/v1"


class HubError(Exception):
    """An error as the Hub reports it: HTTP status, ``X-Error-Code`` and a message."""

    def __init__(self, status: int, message: str, code: str | None = None):
        super().__init__(message)
        self.status, self.message, self.code = status, message, code


def git_blob_oid(data: bytes) -> str:
    """Git's blob id: what the Hub reports as a regular file's ``oid`` and ``ETag``."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def lfs_pointer(sha256: str, size: int) -> bytes:
    """The pointer file git keeps in place of an LFS file's content."""
    return f"version {LFS_SPEC}\noid sha256:{sha256}\nsize {size}\n".encode()


class HubStorage:
    """Repos (one JSON state file each) and blobs on disk; state changes hold ``lock``."""

    def __init__(self, root: Path, user: str = "local-user"):
        self.root, self.user, self.lock = Path(root), user, threading.RLock()
        (self.root / "blobs").mkdir(parents=True, exist_ok=True)

    def state_path(self, kind: str, repo_id: str) -> Path:
        return self.root / "repos" / kind / f"{repo_id}.json"

    def load(self, kind: str, repo_id: str) -> dict:
        with self.lock:
            if not self.state_path(kind, repo_id).exists():
                raise HubError(404, f"Repository {repo_id} not found.", "RepoNotFound")
            return json.loads(self.state_path(kind, repo_id).read_text())

    def save(self, kind: str, repo_id: str, state: dict) -> None:
        """Writes ``state``; callers hold ``lock`` from their `load` on, so nobody reads halfway."""
        self.state_path(kind, repo_id).parent.mkdir(parents=True, exist_ok=True)
        self.state_path(kind, repo_id).write_text(json.dumps(state))

    def blob(self, sha256: str) -> Path:
        return self.root / "blobs" / sha256

    def put_blob(self, data: bytes) -> str:
        sha256 = hashlib.sha256(data).hexdigest()
        if not self.blob(sha256).exists():  # never rewrite a blob that may be being read
            self.blob(sha256).write_bytes(data)
        return sha256

    def regular_entry(self, data: bytes) -> dict:
        """Stores ``data``; its row in a commit's file table (a file kept in git, not LFS)."""
        return dict(sha256=self.put_blob(data), size=len(data), lfs=False, oid=git_blob_oid(data))

    def create(self, kind: str, repo_id: str, private: bool) -> bool:
        """Creates the repo with an initial commit (``.gitattributes``); False if it exists."""
        with self.lock:
            if self.state_path(kind, repo_id).exists():
                return False
            now = time.strftime(ISO_TIME, time.gmtime())
            state = {"private": private, "createdAt": now, "refs": {}, "commits": {}}
            files = {".gitattributes": self.regular_entry(GITATTRIBUTES.encode())}
            self._add_commit(state, "main", None, {"summary": "initial commit"}, files)
            self.save(kind, repo_id, state)
            return True

    @staticmethod
    def resolve(state: dict, revision: str) -> str:
        """Branch name or full commit id -> commit id."""
        sha = state["refs"].get(revision, revision)
        if sha not in state["commits"]:
            raise HubError(404, f"Invalid rev id: {revision}", "RevisionNotFound")
        return sha

    @staticmethod
    def _add_commit(state: dict, branch: str, parent: str | None, header: dict, files: dict):
        title, date = header.get("summary") or "Update", time.strftime(ISO_TIME, time.gmtime())
        sha = hashlib.sha1(f"{parent}{title}{date}{uuid.uuid4()}".encode()).hexdigest()
        message = header.get("description") or ""
        state["commits"][sha] = dict(parent=parent, title=title, message=message, date=date)
        state["commits"][sha]["files"] = files
        state["refs"][branch] = sha
        return sha

    def commit(self, kind: str, repo_id: str, branch: str, lines: list[dict]) -> str:
        """Applies an ndjson commit (a header, then file or lfsFile lines) to ``branch``."""
        with self.lock:
            state = self.load(kind, repo_id)
            if branch not in state["refs"]:
                raise HubError(404, f"No branch {branch}: create it first.", "RevisionNotFound")
            head, header = state["refs"][branch], lines[0]["value"]
            if header.get("parentCommit") and not head.startswith(header["parentCommit"]):
                raise HubError(412, f"The branch moved since {header['parentCommit']} to {head}.")
            files = dict(state["commits"][head]["files"])
            for line in lines[1:]:
                key, value = line["key"], line["value"]
                path = value["path"]
                if key == "file":
                    files[path] = self.regular_entry(base64.b64decode(value["content"]))
                elif key == "lfsFile":
                    if not self.blob(value["oid"]).exists():
                        raise HubError(400, f"LFS object of {path} was not uploaded first.")
                    size = self.blob(value["oid"]).stat().st_size
                    oid = git_blob_oid(lfs_pointer(value["oid"], size))
                    files[path] = dict(sha256=value["oid"], size=size, lfs=True, oid=oid)
                else:  # deletions and copies: upload_folder(delete_patterns=...), copy_files
                    raise HubError(400, f"The local Hub does not support {key} operations.")
            sha = self._add_commit(state, branch, head, header, files)
            self.save(kind, repo_id, state)
            return sha


def _tree_entry(path: str, entry: dict) -> dict:
    item = {"type": "file", "oid": entry["oid"], "size": entry["size"], "path": path}
    if entry["lfs"]:
        pointer_size = len(lfs_pointer(entry["sha256"], entry["size"]))
        item["lfs"] = {"oid": entry["sha256"], "size": entry["size"], "pointerSize": pointer_size}
    return item


def _folder(path: str) -> dict:
    return {"type": "directory", "oid": hashlib.sha1(path.encode()).hexdigest(), "path": path}


class HubHandler(BaseHTTPRequestHandler):
    """Serves one request from ``self.server.hub`` (a `LocalHub`)."""

    protocol_version = "HTTP/1.1"  # keep-alive, as the Hub's clients expect

    def _dispatch(self) -> None:
        hub, url = self.server.hub, urlsplit(self.path)
        self.base_url = f"http://{self.headers.get('Host')}"
        self.query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        hub.requests.append((self.command, url.path))  # list.append is atomic
        try:
            length = int(self.headers.get("Content-Length") or 0)  # the client never chunks
            self.body = self.rfile.read(length)
            self._route(self.command, url.path)
        except HubError as err:
            self._error(err)
        except Exception as err:  # a server bug: answer it instead of hanging the client
            self._error(HubError(500, f"{type(err).__name__}: {err}"))

    do_GET = do_HEAD = do_POST = do_PUT = _dispatch

    def _send(self, status: int, body: bytes = b"", headers: dict | None = None) -> None:
        self.send_response(status)
        for name, value in {"Content-Length": len(body), **(headers or {})}.items():
            self.send_header(name, str(value))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, payload, status: int = 200, headers: dict | None = None) -> None:
        body = json.dumps(payload).encode()
        self._send(status, body, {"Content-Type": "application/json", **(headers or {})})

    def _error(self, err: HubError) -> None:
        headers = {"X-Error-Message": err.message.replace("\n", " ")}
        headers.update({"X-Error-Code": err.code} if err.code else {})
        self._json({"error": err.message}, err.status, headers)

    def _body_json(self) -> dict:
        return json.loads(self.body or b"{}")

    def _authorized(self, required: bool = False) -> bool:
        token = self.server.hub.token
        if token is None or self.headers.get("Authorization") == f"Bearer {token}":
            return True
        if required:
            raise HubError(401, "Invalid credentials: send the local Hub's token (HF_TOKEN).")
        return False

    def _repo(self, kind: str, repo_id: str) -> dict:
        state = self.server.hub.storage.load(kind, repo_id)
        if state["private"] and not self._authorized():
            raise HubError(401, f"Repository {repo_id} not found.", "RepoNotFound")
        return state

    def _route(self, method: str, path: str) -> None:
        if path == "/api/repos/create" and method == "POST":
            return self._create_repo()
        if path == "/api/validate-yaml" and method == "POST":
            try:  # rejected: metadata that is not a mapping, or a model-index that does not parse
                ModelCard(self._body_json().get("content", ""), ignore_metadata_errors=False)
            except Exception as err:
                errors = [{"message": f"Invalid metadata: {type(err).__name__}: {err}"}]
                return self._json({"errors": errors, "warnings": []}, 400)
            return self._json({"errors": [], "warnings": []})
        if match := LFS_OBJECT.match(path):
            return self._lfs_upload(method, match.group(1))
        for pattern in (LFS_BATCH, RESOLVE, API_REPO):
            if match := pattern.match(path):
                break
        else:
            raise HubError(404, f"{method} {path} is not served by the local Hub.")
        kind = match.group(1) or "models"
        repo_id, rest = f"{unquote(match.group(2))}/{unquote(match.group(3))}", match.groups()[3:]
        if pattern is LFS_BATCH:
            self._authorized(required=True)
            return self._lfs_batch(self._repo(kind, repo_id))
        if pattern is RESOLVE:
            return self._resolve(kind, repo_id, unquote(rest[0]), unquote(rest[1]))
        parts = [unquote(p) for p in (rest[0] or "").split("/") if p] or [""]  # each is quoted
        self._repo_api(method, kind, repo_id, parts[0], parts[1:])

    def _create_repo(self) -> None:
        self._authorized(required=True)
        body = self._body_json()
        repo_id = f"{body.get('organization') or self.server.hub.storage.user}/{body['name']}"
        private = bool(body.get("private")) or body.get("visibility") == "private"
        kind = f"{body.get('type') or 'model'}s"
        url = f"{self.base_url}/{'' if kind == 'models' else kind + '/'}{repo_id}"
        if not self.server.hub.storage.create(kind, repo_id, private):
            return self._json({"url": url, "error": "You already created this repo"}, 409)
        self._json({"url": url, "name": repo_id, "id": repo_id})

    def _repo_api(self, method: str, kind: str, repo_id: str, action: str, rest: list) -> None:
        storage = self.server.hub.storage
        if action.startswith("xet-"):
            raise HubError(501, "The local Hub serves git-LFS, not Xet: set HF_HUB_DISABLE_XET=1.")
        if method == "POST":
            self._authorized(required=True)
            if self.query.get("create_pr") in TRUE:
                raise HubError(400, "The local Hub does not support pull requests (create_pr).")
        revision = rest[0] if rest else "main"
        with storage.lock:
            state = self._repo(kind, repo_id)
            sha = storage.resolve(state, revision) if action != "branch" else None
        if method == "GET" and action in ("", "revision"):
            return self._json(self._info(repo_id, state, sha))
        if method == "GET" and action == "tree":
            return self._tree(state, sha, "/".join(rest[1:]))
        if method == "POST" and action == "preupload":
            files = state["commits"][sha]["files"]
            modes = [_upload_mode(f, files) for f in self._body_json()["files"]]
            return self._json({"files": modes})
        if method == "POST" and action == "commit":
            lines = [json.loads(line) for line in self.body.splitlines() if line.strip()]
            sha = storage.commit(kind, repo_id, revision, lines)
            url = f"{self.base_url}/{repo_id}/commit/{sha}"
            return self._json({"commitOid": sha, "commitUrl": url, "pullRequestUrl": None})
        if method == "POST" and action == "branch":
            with storage.lock:
                state = storage.load(kind, repo_id)
                if revision in state["refs"]:
                    raise HubError(409, f"Branch {revision} already exists.")
                start = self._body_json().get("startingPoint") or "main"
                state["refs"][revision] = storage.resolve(state, start)
                storage.save(kind, repo_id, state)
            return self._json({})
        raise HubError(404, f"{method} /api/{kind}/{repo_id}/{action} is not served.")

    def _info(self, repo_id: str, state: dict, sha: str) -> dict:
        files = sorted(state["commits"][sha]["files"].items())
        siblings = [{"rfilename": p, "size": e["size"], "blobId": e["oid"]} for p, e in files]
        info = dict(id=repo_id, modelId=repo_id, author=repo_id.split("/")[0], sha=sha, tags=[])
        info.update(private=state["private"], disabled=False, gated=False, siblings=siblings)
        info.update(lastModified=state["commits"][sha]["date"], createdAt=state["createdAt"])
        return info

    def _tree(self, state: dict, sha: str, folder: str) -> None:
        prefix = f"{folder.strip('/')}/" if folder.strip("/") else ""
        inside = {p: e for p, e in state["commits"][sha]["files"].items() if p.startswith(prefix)}
        if prefix and not inside:
            raise HubError(404, f"{folder} does not exist at {sha}.", "EntryNotFound")
        if self.query.get("recursive") in TRUE:  # files only: clients keep the RepoFile entries
            return self._json([_tree_entry(p, e) for p, e in sorted(inside.items())])
        children = {prefix + p[len(prefix) :].split("/")[0]: p for p in sorted(inside)}
        self._json(
            [_tree_entry(p, inside[p]) if c == p else _folder(c) for c, p in children.items()]
        )

    def _lfs_batch(self, state: dict) -> None:
        objects = []
        for obj in self._body_json().get("objects", []):
            item = {"oid": obj["oid"], "size": obj["size"], "authenticated": True}
            if not self.server.hub.storage.blob(obj["oid"]).exists():  # no actions: already there
                href = f"{self.base_url}/_lfs/{obj['oid']}"
                item["actions"] = {"upload": {"href": href}}  # no "verify": the PUT checks sha256
            objects.append(item)
        self._json({"transfer": "basic", "objects": objects})

    def _lfs_upload(self, method: str, sha256: str) -> None:
        if method != "PUT" or hashlib.sha256(self.body).hexdigest() != sha256:
            raise HubError(400, f"PUT the content whose sha256 is {sha256} here.")
        self.server.hub.storage.put_blob(self.body)
        self._send(200)

    def _resolve(self, kind: str, repo_id: str, revision: str, path: str) -> None:
        storage = self.server.hub.storage
        with storage.lock:
            state = self._repo(kind, repo_id)
            sha = storage.resolve(state, revision)
            entry = state["commits"][sha]["files"].get(path)
        if entry is None:
            raise HubError(404, f"{path} does not exist at {revision}.", "EntryNotFound")
        data = storage.blob(entry["sha256"]).read_bytes()
        etag = f'"{entry["sha256"] if entry["lfs"] else entry["oid"]}"'
        headers = {"X-Repo-Commit": sha, "ETag": etag, "Accept-Ranges": "bytes"}
        if entry["lfs"]:  # the Hub links LFS files to their sha256 and real size
            headers.update({"X-Linked-Etag": etag, "X-Linked-Size": entry["size"]})
        ranged = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range", ""))  # resumed downloads
        if ranged and self.command == "GET":
            headers["Content-Range"] = f"bytes {ranged.group(1)}-{len(data) - 1}/{len(data)}"
            return self._send(206, data[int(ranged.group(1)) :], headers)
        self._send(200, data, headers)


def _upload_mode(file: dict, files: dict) -> dict:
    """The preupload answer: LFS or inline, and the oid of the current version to skip no-ops."""
    sample = base64.b64decode(file.get("sample", ""))
    lfs = file["path"].endswith(LFS_SUFFIXES) or file["size"] >= LFS_MIN_SIZE or b"\0" in sample
    old = files.get(file["path"])
    oid = None if old is None else old["sha256"] if old["lfs"] else old["oid"]
    mode = "lfs" if lfs else "regular"
    return {"path": file["path"], "uploadMode": mode, "shouldIgnore": False, "oid": oid}


class LocalHub:
    """A Hub API server on 127.0.0.1 (``port`` 0: a free one); repos under ``root`` (None: a
    temporary folder); ``token`` required to write and to read private repos (None: no auth)."""

    def __init__(self, root: str | Path | None = None, token: str | None = "hf_local", port=0):
        if root is None:
            root = tempfile.mkdtemp(prefix="local_hub_")
            atexit.register(shutil.rmtree, root, ignore_errors=True)
        self.storage, self.token, self.requests = HubStorage(Path(root)), token, []
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), HubHandler)
        self.httpd.daemon_threads, self.httpd.hub = True, self
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def start(self) -> LocalHub:
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def client_env(self, hf_home: str | Path, base: dict | None = None) -> dict:
        """A client subprocess's environment: ``base`` less its Hub settings, then this endpoint
        and token, online, LFS uploads, and ``hf_home`` as the only cache."""
        prefixes = ("HF_", "HUGGINGFACE_", "TRANSFORMERS_")
        env = {k: v for k, v in (base or {}).items() if not k.startswith(prefixes)}
        env.update(HF_ENDPOINT=self.url, HF_HOME=str(hf_home), HF_TOKEN=self.token or "")
        return {**env, "HF_HUB_OFFLINE": "0", "HF_HUB_DISABLE_XET": "1"}


@functools.cache
def session_hub() -> LocalHub:
    """The one server of this process (one per test session), started on first use."""
    hub = LocalHub().start()
    atexit.register(hub.stop)
    return hub
