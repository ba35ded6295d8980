"""Building an on-disk search index (see ``modeling.retrieval.index`` for its files).

`build_index` runs data-parallel under ``accelerate launch``: corpus chunk ``i`` goes to process
``i % world_size``; each process writes its chunks, then the main process merges them in corpus
order. Under plain ``python`` it is one process. The index is built in a hidden sibling folder
(``.<name>.building``) and moved into place by renaming at the end, so a build that dies leaves
the previous index as it was, and a reader that has the previous index open keeps reading its
files (they are unlinked, not rewritten). An existing index is replaced only when asked
(``overwrite``), and a folder that holds anything but index files (a checkpoint, say) never is.
Deliberately left out: incremental updates (rebuild instead) and two concurrent builds of one
folder (the later one wins).
"""

from __future__ import annotations

import ctypes
import json
import logging
import os
import shutil
import time
from pathlib import Path

import numpy as np
import torch
from scipy import sparse

from modeling.retrieval.corpus import iter_corpus
from modeling.retrieval.encoders import DenseEncoder

logger = logging.getLogger(__name__)

INDEX_FORMAT = 1
PROBE_TEXT = "The quick brown fox jumps over the lazy dog near the river bank in 1999."
# Passages encoded per call, between progress-bar updates (an encoder without a sparse path, such
# as ONNX, makes its lexical columns dense first, so this also bounds that transient).
ENCODE_SLICE = 2048
INDEX_FILES = frozenset(
    {"index.json", "embeddings.npy", "ids.txt", "texts.jsonl", "text_offsets.npy", "lexical.npz"}
)


def build_index(
    encoder: DenseEncoder,
    corpus: str | Path,
    index_dir: str | Path,
    chunk_size: int = 50_000,
    store_texts: bool = True,
    progress_bar: bool = True,
    overwrite: bool = False,
) -> Path:
    """Encodes ``corpus`` chunk by chunk into an index directory, data-parallel if launched so.

    Under ``accelerate launch`` with N processes, every process calls this; each encodes the
    chunks ``i`` with ``i % N == rank`` and the main process merges them in corpus order into a
    hidden sibling folder, then renames it to ``index_dir``.

    Args:
        encoder: The passage encoder (place it on ``PartialState().device`` for GPUs).
        corpus: A ``.tsv``/``.jsonl``/``.parquet`` file (see ``modeling.retrieval.corpus``).
        index_dir: Output directory: new, empty, or (with ``overwrite``) an index.
        chunk_size: Passages read and encoded at a time (bounds memory, unit of sharding).
        store_texts: Keep passage texts so that results can show them.
        progress_bar: Show an encoding progress bar on the main process.
        overwrite: Replace an index already in ``index_dir``.

    Returns:
        ``index_dir``.
    """
    index_dir = Path(index_dir).absolute()
    check_index_dir(index_dir, overwrite)  # on every process: they all stop, none waits
    state = distributed_state()
    staging = index_dir.with_name(f".{index_dir.name}.building")
    parts = staging / "_parts"
    if state.is_main_process:
        if staging.exists():
            shutil.rmtree(staging)  # left by a build that died
        parts.mkdir(parents=True)
    state.wait_for_everyone()
    started, encoded = time.perf_counter(), 0
    for number, (ids, texts) in enumerate(iter_corpus(corpus, chunk_size)):
        if number % state.num_processes != state.process_index:
            continue
        for pid in ids:
            if "\n" in pid or not pid:
                raise ValueError(f"{corpus}: passage id {pid!r} is empty or holds a newline.")
        embeddings, lexical = _encode_chunk(
            encoder, texts, progress_bar=progress_bar and state.is_main_process
        )
        prefix = parts / f"{number:08d}"
        if lexical is not None:
            sparse.save_npz(prefix.with_suffix(".lexical.npz"), lexical, compressed=False)
        _write_part(prefix, ids, texts if store_texts else None, embeddings)
        encoded += len(ids)
        rate = encoded / (time.perf_counter() - started)
        logger.info(
            "Process %d: chunk %d encoded (%d passages so far, %.0f/s)",
            state.process_index,
            number,
            encoded,
            rate,
        )
    state.wait_for_everyone()
    if state.is_main_process:
        _merge_parts(parts, staging, encoder, corpus, state.num_processes, store_texts)
        shutil.rmtree(parts)
        check_index_dir(index_dir, overwrite)  # again: the folder may have changed meanwhile
        _move_into_place(staging, index_dir)
        logger.info("Index moved into place: %s", index_dir)
    state.wait_for_everyone()
    return index_dir


def _encode_chunk(encoder: DenseEncoder, texts: list[str], progress_bar: bool):
    """``texts`` -> dense part ``(n, d)`` and lexical part (CSR, or None), slice by slice."""
    from tqdm.auto import tqdm

    dense, lexical = [], []
    with tqdm(total=len(texts), unit=" passages", disable=not progress_bar) as bar:
        for start in range(0, len(texts), ENCODE_SLICE):
            vectors, part = encoder.encode_passages_split(texts[start : start + ENCODE_SLICE])
            if part is not None:
                lexical.append(part)
            dense.append(vectors)
            bar.update(len(vectors))
    return np.concatenate(dense), (sparse.vstack(lexical, format="csr") if lexical else None)


def check_index_dir(index_dir: str | Path, overwrite: bool = False) -> None:
    """Raises ValueError unless ``index_dir`` may receive an index.

    Allowed: a missing or empty folder, or (with ``overwrite``) a folder of index files only.
    Never: a folder with anything else in it (a checkpoint, a corpus), even with ``overwrite``.
    """
    index_dir = Path(index_dir)
    if not index_dir.exists():
        return
    if not index_dir.is_dir():
        raise ValueError(f"--index_dir {index_dir} is a file; pass a folder for the index.")
    entries = {entry.name for entry in index_dir.iterdir()}
    if not entries:
        return
    foreign = sorted(entries - INDEX_FILES - {"_parts"})  # _parts: builds before staging
    if foreign:
        shown = ", ".join(foreign[:5]) + (", ..." if len(foreign) > 5 else "")
        raise ValueError(
            f"--index_dir {index_dir} is not a search index: it holds {shown}. Building would "
            "delete them, so it is refused even with --overwrite; pass a new or empty folder."
        )
    if not overwrite:
        raise ValueError(
            f"--index_dir {index_dir} already holds an index; pass --overwrite to replace it "
            "(readers that have it open keep working), or choose another folder."
        )


def _move_into_place(staging: Path, index_dir: Path) -> None:
    """Renames the finished ``staging`` folder to ``index_dir``; an old index there is swapped
    out in one step where the OS allows it (Linux ``renameat2``), else by two renames."""
    if index_dir.is_dir() and not any(index_dir.iterdir()):
        index_dir.rmdir()
    if not index_dir.exists():
        os.rename(staging, index_dir)
        return
    if not _exchange(staging, index_dir):
        retired = staging.with_name(staging.name.replace(".building", ".old"))
        shutil.rmtree(retired, ignore_errors=True)
        os.rename(index_dir, retired)
        os.rename(staging, index_dir)
        staging = retired
    shutil.rmtree(staging)  # the old index: files a reader has open stay readable until closed


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swaps two paths (Linux renameat2 RENAME_EXCHANGE); False where unsupported."""
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    result = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)
    return result == 0


def distributed_state():
    """accelerate's `PartialState`: N processes under ``accelerate launch``, one otherwise.

    CPU processes (no CUDA, or ``ACCELERATE_USE_CPU=1``) need ``cpu=True`` to form a gloo
    group; without it each launched process would run alone and encode the whole corpus.
    """
    from accelerate import PartialState
    from accelerate.utils import parse_flag_from_env

    return PartialState(
        cpu=parse_flag_from_env("ACCELERATE_USE_CPU") or not torch.cuda.is_available()
    )


def _write_part(prefix: Path, ids: list[str], texts: list[str] | None, embeddings: np.ndarray):
    np.save(prefix.with_suffix(".npy"), np.asarray(embeddings, dtype=np.float32))
    prefix.with_suffix(".ids").write_text("".join(f"{pid}\n" for pid in ids), encoding="utf-8")
    if texts is not None:
        lines = [(json.dumps(text, ensure_ascii=False) + "\n").encode("utf-8") for text in texts]
        prefix.with_suffix(".texts").write_bytes(b"".join(lines))
        np.save(prefix.with_suffix(".lengths.npy"), np.array([len(line) for line in lines]))


def _merge_parts(parts, index_dir, encoder, corpus, num_processes, store_texts) -> None:
    """Concatenates the chunk files in ``parts`` into the index files in ``index_dir``."""
    chunks = sorted(parts.glob("*[0-9].npy"))  # one per chunk, named by corpus position
    if [int(path.stem) for path in chunks] != list(range(len(chunks))):
        raise ValueError(f"Chunks are missing in {parts}: a process failed; rerun the build.")
    if not chunks:
        raise ValueError(f"{corpus} holds no passage; nothing to index.")
    shapes = [np.load(path, mmap_mode="r").shape for path in chunks]
    total, dim = sum(shape[0] for shape in shapes), shapes[0][1]
    embeddings = np.lib.format.open_memmap(
        index_dir / "embeddings.npy", mode="w+", dtype=np.float32, shape=(total, dim)
    )
    offsets = np.zeros(total, dtype=np.int64) if store_texts else None
    row, position = 0, 0
    ids_path, texts_path = index_dir / "ids.txt", index_dir / "texts.jsonl"
    with open(ids_path, "wb") as ids_out, open(texts_path, "wb") as texts_out:
        for path in chunks:
            block = np.load(path)
            embeddings[row : row + len(block)] = block
            ids_out.write(path.with_suffix(".ids").read_bytes())
            if store_texts:
                lengths = np.load(path.with_suffix(".lengths.npy"))
                starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
                offsets[row : row + len(block)] = position + starts
                texts_out.write(path.with_suffix(".texts").read_bytes())
                position += int(lengths.sum())
            row += len(block)
    embeddings.flush()
    if encoder.lexical_buckets:
        # CSR parts stack by concatenation; one conversion then gives the posting lists.
        lexical = [sparse.load_npz(path.with_suffix(".lexical.npz")).tocsr() for path in chunks]
        lexical = sparse.vstack(lexical, format="csr")
        sparse.save_npz(index_dir / "lexical.npz", lexical.tocsc())
    if store_texts:
        np.save(index_dir / "text_offsets.npy", offsets)
    else:
        (index_dir / "texts.jsonl").unlink()
        (index_dir / "text_offsets.npy").unlink(missing_ok=True)
    meta = {
        "format": INDEX_FORMAT,
        "model": encoder.reference or encoder.name,
        "model_name": encoder.name,
        "num_passages": total,
        "dim": dim + encoder.lexical_buckets,
        "lexical_buckets": encoder.lexical_buckets,
        "corpus": str(Path(corpus).resolve()),
        "chunks": len(chunks),
        "num_processes": num_processes,
        "probe_embedding": encoder.encode_passages([PROBE_TEXT])[0].tolist(),
    }
    (index_dir / "index.json").write_text(json.dumps(meta, indent=1))
    logger.info(
        "Index of %d passages (%d-d + %d sparse lexical buckets) merged in %s",
        total,
        dim,
        encoder.lexical_buckets,
        index_dir,
    )
