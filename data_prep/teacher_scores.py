"""Precomputed teacher scores for distillation: all-MiniLM-L6-v2's cosines per training query.

``teacher_minilm_top50.jsonl.gz`` (in the MS MARCO folder) holds, for each training query, the
teacher's cosine with its labelled positives and with its top 50 of a 48,730-passage pool. Pool
ids are ``corpus.tsv`` pids, ``msmarco_passage_...`` ids of the v2-text passages (text: the
pairs file's passage, whitespace collapsed) and ``titled:<query_id>`` for the titled dev.small
positives (text: that file's ``positive_titled``, read through ``strip_title`` as the training
table reads it). `attach_teacher_scores` adds three columns to a canonical training table
(`with_teacher_scores` to a ``datasets.Dataset``, column-wise, so a memory-mapped table stays so):
``positive_scores`` (the teacher's cosine of each of the row's positives), ``teacher_passages``
and ``teacher_scores`` (its ``keep`` best pool passages that are not positives, best first).
The collator turns them into a score matrix over the batch; ``losses`` compare it with the
student's. Deliberately left out: scoring passages the teacher never saw (the BM25 negatives).
"""

from __future__ import annotations

import gzip
import json
import logging
from pathlib import Path

import pyarrow as pa

from data_prep.training_sets import strip_title

logger = logging.getLogger(__name__)

TEACHER_SCORES_FILE = "teacher_minilm_top50.jsonl.gz"
TEACHER_COLUMNS = ("positive_scores", "teacher_passages", "teacher_scores")


def _collapse(text: str) -> str:
    return " ".join(text.split())


def resolve_scores_file(name: str | None, msmarco_dir: str | Path | None = None) -> Path | None:
    """``--teacher_scores`` -> the file, or None to train on labels alone.

    ``"none"`` or empty gives None; an existing path is used as is; a bare file name is looked
    up in the MS MARCO folder (``$MSMARCO_DIR``, by default ``../shared/data/msmarco``). The
    recipe's file missing from that folder gives None with a warning (runs on other data, e.g. a
    toy table, need no teacher); any other missing path is an error.
    """
    if not name or name.lower() == "none":
        return None
    path = Path(name)
    if path.exists():
        return path
    from data_prep import MSMARCO_DIR

    folder = Path(msmarco_dir or MSMARCO_DIR)
    if len(path.parts) == 1 and (folder / name).exists():
        return folder / name
    if name == TEACHER_SCORES_FILE:
        logger.warning(
            "No %s in %s: training on labels alone (set MSMARCO_DIR to the MS MARCO subsets to "
            "distil, or pass --teacher_scores none to say so).", name, folder,
        )  # fmt: skip
        return None
    raise ValueError(
        f"Teacher scores {name!r} not found (nor in {folder}): pass --teacher_scores PATH, or "
        "--teacher_scores none to train on labels alone."
    )


def read_pool_texts(data_dir: str | Path) -> dict[str, str]:
    """Pool id -> passage text, as the training table spells the same passages."""
    data_dir = Path(data_dir)
    pool: dict[str, str] = {}
    with open(data_dir / "corpus.tsv", encoding="utf-8") as handle:
        for line in handle:
            pid, _, text = line.rstrip("\n").partition("\t")
            pool[pid] = text
    with open(data_dir / "train_pairs_v2text.jsonl", encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            pool[row["pid_v2"]] = _collapse(row["passage"])
    with open(data_dir / "dev_small_positive_titled.jsonl", encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            pool[f"titled:{row['query_id']}"] = strip_title(row["positive_titled"])
    return pool


def attach_teacher_scores(
    table: pa.Table, scores_file: str | Path, keep: int = 10, pool: dict[str, str] | None = None
) -> pa.Table:
    """Adds ``positive_scores``, ``teacher_passages`` and ``teacher_scores`` to ``table``.

    Args:
        table: A canonical training table (``query_id``, ``query``, ``positives``, ...).
        scores_file: ``teacher_minilm_top50.jsonl.gz``; the pool texts are read from its folder.
        keep: Best non-positive pool passages kept per query.
        pool: Pool id -> text (`read_pool_texts` of the file's folder when None).

    Returns:
        The table with the three columns. A positive the teacher file does not name by its text
        (the same passage spelt differently) takes the best of the teacher's positive scores; a
        query absent from the file gets empty lists (labels alone). Both are counted in the log.
    """
    scores_file = Path(scores_file)
    if not scores_file.exists():
        raise ValueError(
            f"{scores_file} does not exist: pass --teacher_scores "
            f"../shared/data/msmarco/{TEACHER_SCORES_FILE} (see that folder's README)."
        )
    pool = pool if pool is not None else read_pool_texts(scores_file.parent)
    by_query = {}
    with gzip.open(scores_file, "rt", encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            by_query[int(row["query_id"])] = row
    positive_scores, passages, scores, guessed, missing = [], [], [], 0, 0
    for query_id, positives in zip(
        table.column("query_id").to_pylist(), table.column("positives").to_pylist(), strict=True
    ):
        row = by_query.get(query_id)
        if row is None:  # trained on its labels alone; counted below
            missing += 1
            positive_scores.append([])
            passages.append([])
            scores.append([])
            continue
        named = {_collapse(pool[pid]): score for pid, score in row["positives"] if pid in pool}
        best = max(score for _, score in row["positives"])
        own = [named.get(_collapse(text)) for text in positives]
        guessed += sum(score is None for score in own)
        positive_scores.append([best if score is None else score for score in own])
        taken = {_collapse(text) for text in positives} | set(named)
        texts, values = [], []
        for pid, score in row["teacher_top50"]:
            text = pool.get(pid)
            if text is None or _collapse(text) in taken:
                continue  # a positive under another id, or a duplicate text
            taken.add(_collapse(text))
            texts.append(text)
            values.append(score)
            if len(texts) == keep:
                break
        passages.append(texts)
        scores.append(values)
    if missing:
        logger.warning(
            "%d of %d queries have no line in %s: they train on their labels alone (distil "
            "tables built from the same MS MARCO folder).", missing, table.num_rows, scores_file,
        )  # fmt: skip
    if guessed:
        logger.info("Teacher scores: %d positives scored by their query's best positive", guessed)
    floats = pa.list_(pa.float32())
    return (
        table.append_column("positive_scores", pa.array(positive_scores, floats))
        .append_column("teacher_passages", pa.array(passages, pa.list_(pa.string())))
        .append_column("teacher_scores", pa.array(scores, floats))
    )


def with_teacher_scores(dataset, scores_file: str | Path, **attach_kwargs):
    """``dataset`` (a ``datasets.Dataset`` of canonical rows) with the `TEACHER_COLUMNS` of
    `attach_teacher_scores` (``attach_kwargs``: its ``keep`` and ``pool``), joined column by
    column: its own rows are read as Arrow, never copied into Python lists, so a memory-mapped
    table of a million rows stays on disk. Call it before ``select``/``shuffle``: a dataset with
    an indices mapping is rewritten whole."""
    import datasets

    keys = dataset.select_columns(["query_id", "positives"]).with_format("arrow")[:]
    graded = attach_teacher_scores(keys, scores_file, **attach_kwargs)
    graded = graded.select(list(TEACHER_COLUMNS))
    return datasets.concatenate_datasets([dataset, datasets.Dataset(graded)], axis=1)
