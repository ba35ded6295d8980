"""The three evaluation tasks built from the real MS MARCO subsets in ``../shared/data/msmarco``.

- ``dev600-rerank``: each dev.small query of ``dev600_bm25top20.jsonl`` that has a selected
  passage (540 of 600) ranks its own 20 BM25 candidates; MRR@10. The collection is
  ``corpus.tsv`` (it holds every candidate, same text), so BM25 scores the candidates with
  corpus statistics.
- ``dev600-retrieve``: the same queries retrieve from all of ``corpus.tsv`` (38,877 passages);
  MRR@10 and Recall@100. Most of the corpus comes from BM25 pools: biased toward BM25.
- ``dl19-pool``: the 43 judged TREC DL 2019 queries rank the shared pool of 14,581 passages;
  nDCG@10 with the official graded qrels (unjudged = not relevant).

Relevance for the dev600 tasks is ``is_selected``, which equals the official dev.small qrels for
these 540 queries. Deliberately left out: the 60 dev600 queries without a selected candidate
(their qrels passages are not in the candidates) and the titled dev.small file (different text).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

TASK_NAMES = ("dev600-rerank", "dev600-retrieve", "dl19-pool")

_FILES = {
    "dev600-rerank": ("dev600_bm25top20.jsonl", "corpus.tsv"),
    "dev600-retrieve": ("dev600_bm25top20.jsonl", "corpus.tsv"),
    "dl19-pool": ("trec_dl19/candidates.json", "trec_dl19/qrels.txt"),
}


@dataclass
class Collection:
    """Passages a task searches: ``ids[i]`` has text ``texts[i]``; ``name`` identifies it."""

    name: str
    ids: list[str]
    texts: list[str]
    _positions: dict[str, int] | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return len(self.ids)

    def position(self, pid: str) -> int:
        """Row of passage ``pid``."""
        if self._positions is None:
            self._positions = {p: i for i, p in enumerate(self.ids)}
        return self._positions[pid]


@dataclass
class EvalTask:
    """One retrieval task: queries, graded qrels, the collection and what to report.

    Attributes:
        name: ``dev600-rerank``, ``dev600-retrieve`` or ``dl19-pool``.
        queries: ``{qid: text}``.
        qrels: ``{qid: {pid: grade}}``.
        collection: Passages to search (also the BM25 statistics).
        metrics: Reported metrics, e.g. ``("MRR@10", "R@100")``.
        candidates: ``{qid: [pid, ...]}`` for reranking; None means the whole collection.
    """

    name: str
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]
    collection: Collection
    metrics: tuple[str, ...]
    candidates: dict[str, list[str]] | None = None

    @property
    def depth(self) -> int:
        """How many passages per query a run needs: the largest cut-off of the metrics."""
        return max(int(metric.split("@")[1]) for metric in self.metrics)


def load_tasks(data_dir: str | Path, names: list[str] | tuple[str, ...] = TASK_NAMES):
    """Loads the named tasks; tasks on the same collection share one `Collection` object.

    Args:
        data_dir: The MS MARCO directory (``../shared/data/msmarco``).
        names: A subset of ``TASK_NAMES``.

    Returns:
        ``list[EvalTask]`` in the order of ``names``.
    """
    data_dir = Path(data_dir)
    unknown = [name for name in names if name not in TASK_NAMES]
    if unknown:
        raise ValueError(f"Unknown task(s) {unknown}; choose from {list(TASK_NAMES)}.")
    for name in names:
        for file in _FILES[name]:
            if not (data_dir / file).exists():
                raise ValueError(
                    f"Task {name} needs {data_dir / file}; pass --data_dir pointing at the MS "
                    "MARCO subsets (../shared/data/msmarco, see its README)."
                )
    tasks, corpus = [], None
    for name in names:
        if name.startswith("dev600"):
            corpus = corpus or read_tsv_collection(data_dir / "corpus.tsv")
            tasks.append(_dev600_task(data_dir, corpus, rerank=name == "dev600-rerank"))
        else:
            tasks.append(_dl19_task(data_dir))
    return tasks


def read_tsv_collection(path: str | Path) -> Collection:
    """Reads a ``pid<TAB>text`` file into a `Collection`."""
    ids, texts = [], []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            parts = line.rstrip("\n").split("\t", 1)
            if len(parts) != 2:
                raise ValueError(f"{path}, line {number}: expected 'pid<TAB>text'.")
            ids.append(parts[0])
            texts.append(parts[1])
    return Collection(name=Path(path).name, ids=ids, texts=texts)


def _dev600_task(data_dir: Path, corpus: Collection, rerank: bool) -> EvalTask:
    queries, qrels, candidates = {}, {}, {}
    with open(data_dir / "dev600_bm25top20.jsonl", encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            passages = row["passages"]
            pids = [str(pid) for pid in passages["pid"]]
            selected = {pid: 1 for pid, s in zip(pids, passages["is_selected"], strict=True) if s}
            if not selected:
                continue  # no relevant candidate: nothing to rank toward (60 of 600)
            qid = str(row["query_id"])
            queries[qid], qrels[qid], candidates[qid] = row["query"], selected, pids
    missing = {pid for pids in candidates.values() for pid in pids} - set(corpus.ids)
    if missing:
        raise ValueError(
            f"{len(missing)} dev600 candidates are not in corpus.tsv (e.g. {sorted(missing)[:3]}); "
            "the data directory is inconsistent."
        )
    if rerank:
        return EvalTask("dev600-rerank", queries, qrels, corpus, ("MRR@10",), candidates)
    return EvalTask("dev600-retrieve", queries, qrels, corpus, ("MRR@10", "R@100"))


def _dl19_task(data_dir: Path) -> EvalTask:
    with open(data_dir / "trec_dl19/candidates.json", encoding="utf-8") as handle:
        pool = json.load(handle)
    qrels: dict[str, dict[str, int]] = {}
    with open(data_dir / "trec_dl19/qrels.txt", encoding="utf-8") as handle:
        for line in handle:
            qid, _, pid, grade = line.split()
            qrels.setdefault(qid, {})[pid] = int(grade)
    queries = {qid: text for qid, text in pool["queries"].items() if qid in qrels}
    collection = Collection(
        name="trec_dl19_pool", ids=list(pool["passages"]), texts=list(pool["passages"].values())
    )
    qrels = {qid: judged for qid, judged in qrels.items() if qid in queries}
    return EvalTask("dl19-pool", queries, qrels, collection, ("nDCG@10",))
