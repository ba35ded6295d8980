"""Index builds never destroy what they should not: refusals, staged builds, live readers."""

import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from modeling import TwoTowerModel, TwoTowerTokenizerFast
from modeling.retrieval.encoders import TwoTowerEncoder
from modeling.retrieval.index import SearchIndex, build_index, search
from modeling.retrieval.search import exact_search

REPO = Path(__file__).resolve().parents[2]
WORDS = ["cat", "dog", "fish", "bird", "tree", "river", "stone", "sky", "rain", "sun", "moon"]
WORDS += ["<pad>", "<unk>"]  # 13 rows


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """An untrained two-tower model over 13 words, 7-d vectors, with a 5-bucket lexical part."""
    path = tmp_path_factory.mktemp("tiny_index_model")
    torch.manual_seed(0)
    model = TwoTowerModel.from_glove(torch.randn(len(WORDS), 7), hidden_size=5, lexical_buckets=5)
    model.save_pretrained(path)
    TwoTowerTokenizerFast.from_vocabulary(WORDS).save_pretrained(path)
    return path


def write_corpus(path: Path, n: int, seed: int) -> Path:
    rng = np.random.default_rng(seed)
    lines = [f"p{seed}-{i}\t{' '.join(rng.choice(WORDS[:-2], 6))}\n" for i in range(n)]
    path.write_text("".join(lines), encoding="utf-8")
    return path


def hits_of(index, encoder, queries=("cat dog", "river stone sky", "moon")):
    return [[(h.pid, round(h.score, 6), h.text) for h in hits] for hits in search(
        index, encoder, list(queries), k=4)]  # fmt: skip


def test_existing_index_needs_overwrite_and_other_folders_are_refused(checkpoint, tmp_path):
    encoder = TwoTowerEncoder(str(checkpoint), device="cpu")
    corpus = write_corpus(tmp_path / "corpus.tsv", 30, seed=1)
    build_index(encoder, corpus, tmp_path / "index", progress_bar=False)
    with pytest.raises(ValueError, match="already holds an index; pass --overwrite"):
        build_index(encoder, corpus, tmp_path / "index", progress_bar=False)
    build_index(encoder, corpus, tmp_path / "index", progress_bar=False, overwrite=True)
    assert len(SearchIndex(tmp_path / "index")) == 30

    for name in ("config.json", "notes.txt"):
        folder = tmp_path / f"holds_{name}"
        folder.mkdir()
        (folder / name).write_text("{}")
        with pytest.raises(ValueError, match=f"not a search index: it holds {name}.*--overwrite"):
            build_index(encoder, corpus, folder, progress_bar=False, overwrite=True)
        assert [p.name for p in folder.iterdir()] == [name]
    with pytest.raises(ValueError, match="not a search index: it holds config.json"):
        build_index(encoder, corpus, checkpoint, progress_bar=False, overwrite=True)
    assert (checkpoint / "model.safetensors").exists()


def test_script_refuses_without_overwrite(checkpoint, tmp_path):
    corpus = write_corpus(tmp_path / "corpus.tsv", 12, seed=2)
    index_dir = tmp_path / "index"
    cmd = [sys.executable, str(REPO / "scripts/search.py"), "build", "--model", str(checkpoint),
           "--corpus", str(corpus), "--index_dir", str(index_dir)]  # fmt: skip
    assert subprocess.run(cmd, capture_output=True, timeout=120).returncode == 0
    before = (index_dir / "embeddings.npy").read_bytes()
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert again.returncode != 0 and "--overwrite" in again.stderr
    assert (index_dir / "embeddings.npy").read_bytes() == before


def test_a_reader_keeps_its_hits_while_a_rebuild_lands(checkpoint, tmp_path):
    encoder = TwoTowerEncoder(str(checkpoint), device="cpu")
    index_dir = tmp_path / "index"
    build_index(encoder, write_corpus(tmp_path / "a.tsv", 40, seed=3), index_dir, chunk_size=16)
    reader = SearchIndex(index_dir)
    before = hits_of(reader, encoder)
    other = write_corpus(tmp_path / "b.tsv", 70, seed=4)
    build_index(encoder, other, index_dir, chunk_size=16, progress_bar=False, overwrite=True)
    assert hits_of(reader, encoder) == before
    fresh = SearchIndex(index_dir)
    assert len(fresh) == 70 and hits_of(fresh, encoder) != before
    assert all(pid.startswith("p4-") for hits in hits_of(fresh, encoder) for pid, _, _ in hits)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.tsv", "b.tsv", "index"]


KILLED_BUILD = textwrap.dedent(
    """
    import sys, time
    from modeling.retrieval.encoders import TwoTowerEncoder
    from modeling.retrieval.index import build_index

    class SlowAfterFirstChunk(TwoTowerEncoder):
        calls = 0
        def encode_passages_split(self, texts, progress_bar=False, max_length=None):
            self.calls += 1
            if self.calls == 2:
                time.sleep(120)  # killed here, with one chunk written
            return super().encode_passages_split(texts, progress_bar, max_length)

    encoder = SlowAfterFirstChunk(sys.argv[1], device="cpu")
    build_index(encoder, sys.argv[2], sys.argv[3], chunk_size=10, progress_bar=False,
                overwrite=True)
    """
)


def test_a_killed_build_leaves_the_previous_index_intact(checkpoint, tmp_path):
    encoder = TwoTowerEncoder(str(checkpoint), device="cpu")
    index_dir = tmp_path / "index"
    build_index(encoder, write_corpus(tmp_path / "a.tsv", 25, seed=5), index_dir)
    before = hits_of(SearchIndex(index_dir), encoder)
    files = {p.name: p.read_bytes() for p in index_dir.iterdir()}

    other = write_corpus(tmp_path / "b.tsv", 50, seed=6)
    build = subprocess.Popen(
        [sys.executable, "-c", KILLED_BUILD, str(checkpoint), str(other), str(index_dir)],
        cwd=REPO,
    )
    parts = tmp_path / ".index.building" / "_parts"
    deadline = time.monotonic() + 120
    while not list(parts.glob("*.npy")) and build.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert build.poll() is None, "the build ended before it could be killed midway"
    build.send_signal(signal.SIGKILL)
    build.wait(timeout=30)

    assert {p.name: p.read_bytes() for p in index_dir.iterdir()} == files
    assert hits_of(SearchIndex(index_dir), encoder) == before
    # The next build clears the dead build's folder and lands.
    build_index(encoder, other, index_dir, progress_bar=False, overwrite=True)
    assert len(SearchIndex(index_dir)) == 50 and not (tmp_path / ".index.building").exists()


def test_query_blocks_give_the_unblocked_answer(monkeypatch):
    rng = np.random.default_rng(7)
    dense, lexical = rng.normal(size=(101, 6)), rng.random((101, 5)) * (rng.random((101, 5)) < 0.3)
    queries = np.hstack([rng.normal(size=(37, 6)), rng.random((37, 5))])
    from scipy import sparse

    full = queries @ np.hstack([dense, lexical]).T  # (37, 101)
    expected_rows = np.argsort(-full, axis=1, kind="stable")[:, :9]
    import modeling.retrieval.search as search_module

    monkeypatch.setattr(search_module, "LEXICAL_BUDGET", 400)  # ~3 queries' posting lists
    assert search_module._query_blocks(5, np.array([300, 90, 20, 500, 1])) == [
        (0, 2),
        (2, 3),
        (3, 4),
        (4, 5),
    ]
    scores, rows = exact_search(
        queries, dense, 9, chunk_size=13, lexical=sparse.csc_matrix(lexical)
    )
    assert np.array_equal(rows, expected_rows)
    assert np.allclose(scores, np.take_along_axis(full, expected_rows, axis=1), atol=1e-5)
