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

Any folder in the BEIR format (``corpus.jsonl``, ``queries.jsonl``, ``qrels/<split>.tsv``) gives
one task per qrels file (`load_beir_tasks`): full-corpus retrieval, nDCG@10 and R@100, e.g.
``scifact-train`` from ``../shared/data/beir_scifact``. Its documents are longer than MS MARCO
passages (SciFact: 215 words on average, 1,541 at most), so a two-tower model reads up to
`BEIR_PASSAGE_MAX_LENGTH` tokens of each instead of its training cut, unless the caller overrides
it. Overlapping word windows scored by their best (``passage_window``) are the measured
alternative; on SciFact they ranked below the longer cut, so they are opt-in.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path

TASK_NAMES = ("dev600-rerank", "dev600-retrieve", "dl19-pool")

BEIR_METRICS = ("nDCG@10", "R@100")  # BEIR's headline metric and its recall cut-off
# Tokens a two-tower model reads of a BEIR document unless the caller overrides it: a whole
# SciFact abstract once stopwords are dropped (longer cuts matched it, word windows ranked below).
BEIR_PASSAGE_MAX_LENGTH = 256

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
        passage_max_length: Tokens a two-tower model reads of each passage (or window); None
            keeps the model's ``passage_max_length``. Other encoders keep their own limit.
        passage_window: ``(words, stride)``: encode each passage as windows of ``words``
            words starting every ``stride`` words, the passage scoring its best window; None
            encodes each passage whole.
    """

    name: str
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]
    collection: Collection
    metrics: tuple[str, ...]
    candidates: dict[str, list[str]] | None = None
    passage_max_length: int | None = None
    passage_window: tuple[int, int] | None = None

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


def load_beir_tasks(beir_dir: str | Path) -> list[EvalTask]:
    """One full-corpus retrieval task per ``qrels/<split>.tsv`` of a BEIR-format folder.

    The folder holds ``corpus.jsonl`` (``{"_id", "title", "text"}``; a document is ``title + " "
    + text``), ``queries.jsonl`` (``{"_id", "text"}``) and ``qrels/*.tsv`` (``query-id<TAB>
    corpus-id<TAB>score`` after a header line). A task is named after the folder (less a
    ``beir_`` prefix) and the split, e.g. ``scifact-train``; its queries are those its qrels
    judge. All the tasks share one `Collection`.

    Args:
        beir_dir: The folder, e.g. ``../shared/data/beir_scifact``.

    Returns:
        ``list[EvalTask]``, one per qrels file in name order.
    """
    beir_dir = Path(beir_dir)
    splits = sorted((beir_dir / "qrels").glob("*.tsv"))
    for required in (beir_dir / "corpus.jsonl", beir_dir / "queries.jsonl"):
        if not required.exists():
            raise ValueError(
                f"{required} is missing: --beir_dir must be a BEIR-format folder (corpus.jsonl, "
                "queries.jsonl, qrels/<split>.tsv), e.g. ../shared/data/beir_scifact."
            )
    if not splits:
        raise ValueError(f"{beir_dir / 'qrels'} holds no <split>.tsv file: nothing to evaluate.")
    dataset = beir_dir.resolve().name.removeprefix("beir_")
    ids, texts = [], []
    for row in _read_jsonl(beir_dir / "corpus.jsonl", ("_id", "text")):
        ids.append(str(row["_id"]))
        texts.append(f"{row.get('title') or ''} {row['text']}".strip())
    collection = Collection(name=f"{dataset}/corpus.jsonl", ids=ids, texts=texts)
    queries = {
        str(row["_id"]): row["text"]
        for row in _read_jsonl(beir_dir / "queries.jsonl", ("_id", "text"))
    }
    tasks = []
    for path in splits:
        qrels = _read_beir_qrels(path)
        unknown_queries = sorted(set(qrels) - set(queries))
        unknown_docs = sorted({pid for judged in qrels.values() for pid in judged} - set(ids))
        if unknown_queries or unknown_docs:
            raise ValueError(
                f"{path} judges {len(unknown_queries)} queries missing from queries.jsonl (e.g. "
                f"{unknown_queries[:3]}) and {len(unknown_docs)} documents missing from "
                f"corpus.jsonl (e.g. {unknown_docs[:3]}): the folder is inconsistent."
            )
        tasks.append(
            EvalTask(
                name=f"{dataset}-{path.stem}",
                queries={qid: queries[qid] for qid in qrels},
                qrels=qrels,
                collection=collection,
                metrics=BEIR_METRICS,
                passage_max_length=BEIR_PASSAGE_MAX_LENGTH,
            )
        )
    return tasks


def with_passage_encoding(
    tasks: list[EvalTask],
    max_length: int | None = None,
    window: tuple[int, int] | None | str = "keep",
) -> list[EvalTask]:
    """The tasks with their passage encoding overridden (tasks keep sharing collections).

    Args:
        max_length: Tokens a two-tower model reads of each passage; None keeps each task's.
        window: ``(words, stride)`` windows, None to encode passages whole, ``"keep"`` keeps
            each task's own setting.
    """
    changes: dict = {}
    if max_length is not None:
        changes["passage_max_length"] = max_length
    if window != "keep":
        changes["passage_window"] = window
    return [replace(task, **changes) for task in tasks]


def _read_jsonl(path: Path, required: tuple[str, ...]):
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            row = json.loads(line)
            missing = [key for key in required if key not in row]
            if missing:
                raise ValueError(f"{path}, line {number}: no {missing} field (BEIR format).")
            yield row


def _read_beir_qrels(path: Path) -> dict[str, dict[str, int]]:
    qrels: dict[str, dict[str, int]] = {}
    with open(path, encoding="utf-8") as handle:
        header = handle.readline().split()
        if header[:2] != ["query-id", "corpus-id"]:
            raise ValueError(
                f"{path} starts with {header}: a BEIR qrels file starts with the header line "
                "'query-id<TAB>corpus-id<TAB>score'."
            )
        for number, line in enumerate(handle, start=2):
            parts = line.split()
            if not parts:
                continue
            if len(parts) != 3:
                raise ValueError(f"{path}, line {number}: expected 'query-id corpus-id score'.")
            qrels.setdefault(parts[0], {})[parts[1]] = int(parts[2])
    return qrels
