"""A training run's output folder: never mixed with an earlier run, never half written.

- `check_output_dir` refuses a folder that already holds files unless the run resumes from it
  or ``--overwrite_output_dir`` allows `clear_output_dir` to empty it first: no old
  ``eval_results.json`` sits beside new weights, no old checkpoint is rotated away unasked.
- `last_complete_checkpoint` is ``--resume_from_checkpoint last``: the newest ``checkpoint-N``
  whose save finished, skipping (and naming) any that an interruption left half written.
- `publish_saved_model` moves a model saved into a staging folder into place, the weights last
  and the old weights removed first, so an interrupted save leaves either the complete new model
  or no weights file, never new files beside old weights or a truncated weights file.
Deliberately left out: repairing a half-written checkpoint (it is skipped, not fixed).
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
from pathlib import Path

logger = logging.getLogger(__name__)

CHECKPOINT_PATTERN = re.compile(r"^checkpoint-(\d+)$")
STAGING_NAME = "_saving"  # "_*" is never uploaded by Trainer.push_to_hub
WEIGHT_FILES = re.compile(r"^model(-\d+-of-\d+)?\.safetensors(\.index\.json)?$")
TRAINER_STATE = "trainer_state.json"  # the Trainer writes it last in every checkpoint


def check_output_dir(output_dir: str | Path, overwrite: bool, resuming: bool) -> list[str]:
    """Checks that a run may write to ``output_dir``; writes nothing (every process may call it).

    Args:
        output_dir: The run's ``--output_dir``.
        overwrite: ``--overwrite_output_dir``: what an earlier run left there may be deleted.
        resuming: The run resumes from a checkpoint (its folder is expected to hold files).

    Returns:
        The names `clear_output_dir` must delete first (empty when there is nothing to clear).

    Raises:
        ValueError: The folder holds files and neither flag allows it, or it holds the
            working directory and so cannot be cleared.
    """
    folder = Path(output_dir)
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"--output_dir {folder} is a file: pass a folder.")
    entries = sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []
    if not entries or resuming:
        return []
    if not overwrite:
        shown = ", ".join(entries[:6]) + (", ..." if len(entries) > 6 else "")
        raise ValueError(
            f"--output_dir {folder} already holds an earlier run ({shown}). Pass "
            "--overwrite_output_dir to delete it first (with make train: "
            "TRAIN_ARGS=--overwrite_output_dir), --resume_from_checkpoint last to continue it, "
            "or another --output_dir."
        )
    if Path.cwd().resolve().is_relative_to(folder.resolve()):
        raise ValueError(
            f"--output_dir {folder} holds the working directory; --overwrite_output_dir would "
            "delete it: pass a folder of its own, e.g. checkpoints/run1."
        )
    return entries


def clear_output_dir(output_dir: str | Path) -> None:
    """Deletes everything in ``output_dir`` (after `check_output_dir` allowed it), logged."""
    folder = Path(output_dir)
    logger.warning(
        "--overwrite_output_dir: deleting the earlier run in %s: %s",
        folder,
        sorted(p.name for p in folder.iterdir()),
    )
    for path in folder.iterdir():
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()


def checkpoint_problem(checkpoint: str | Path) -> str | None:
    """Why ``checkpoint`` (a ``checkpoint-N`` folder) is not a finished save, or None if it is."""
    folder = Path(checkpoint)
    if not folder.is_dir():
        return "it is not a folder"
    try:
        json.loads((folder / TRAINER_STATE).read_text())["global_step"]
    except FileNotFoundError:
        return f"no {TRAINER_STATE} (the save was interrupted)"
    except (ValueError, KeyError):
        return f"{TRAINER_STATE} is cut short (the save was interrupted)"
    weights = folder / "model.safetensors"
    if not weights.is_file():
        return "no model.safetensors"
    return safetensors_problem(weights)


def safetensors_problem(path: Path) -> str | None:
    """Why a ``.safetensors`` file is not whole (by its header's sizes), or None."""
    size = path.stat().st_size
    with open(path, "rb") as handle:
        header_size = int.from_bytes(handle.read(8), "little")
        if header_size <= 0 or 8 + header_size > size:
            return f"{path.name} is cut short"
        try:
            header = json.loads(handle.read(header_size))
        except ValueError:
            return f"{path.name} has a damaged header"
    ends = [t["data_offsets"][1] for name, t in header.items() if name != "__metadata__"]
    if 8 + header_size + max(ends, default=0) != size:
        return f"{path.name} is cut short"
    return None


def last_complete_checkpoint(output_dir: str | Path) -> str:
    """The newest finished ``checkpoint-N`` in ``output_dir``; skipped ones are logged.

    Raises:
        ValueError: No finished checkpoint, naming each one skipped and why.
    """
    folder = Path(output_dir)
    if not folder.is_dir():
        raise ValueError(f"--resume_from_checkpoint last: {folder} does not exist.")
    found = (
        [p for p in folder.iterdir() if CHECKPOINT_PATTERN.match(p.name)] if folder.is_dir() else []
    )
    skipped = []
    for checkpoint in sorted(found, key=lambda p: -int(CHECKPOINT_PATTERN.match(p.name)[1])):
        problem = checkpoint_problem(checkpoint)
        if problem is None:
            return str(checkpoint)
        logger.warning("Skipping %s: %s.", checkpoint, problem)
        skipped.append(f"{checkpoint.name} ({problem})")
    raise ValueError(
        f"--resume_from_checkpoint last: no finished checkpoint-* in {folder}"
        + (f"; skipped {', '.join(skipped)}" if skipped else "")
        + ". Start afresh with --overwrite_output_dir, or pass a checkpoint folder."
    )


def publish_saved_model(staging: str | Path, target: str | Path) -> None:
    """Moves every file of ``staging`` into ``target`` (same filesystem), the weights last.

    The old weights in ``target`` are removed before anything moves, so an interruption leaves
    no weights file next to a newer config or tokenizer; each file arrives whole (a rename).
    """
    staging, target = Path(staging), Path(target)
    for old in target.iterdir():
        if WEIGHT_FILES.match(old.name):
            old.unlink()
    files = sorted(staging.iterdir(), key=lambda p: (bool(WEIGHT_FILES.match(p.name)), p.name))
    for path in files:
        destination = target / path.name
        if destination.is_dir() and not destination.is_symlink():
            shutil.rmtree(destination)
        os.replace(path, destination)
    staging.rmdir()
