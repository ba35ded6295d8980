"""`hide_hub_token`: ``--hub_token`` moves to ``HF_TOKEN`` before anything can record it.

The Trainer pickles its arguments into every ``training_args.bin`` (uploaded by
``--push_to_hub``) and wandb records the command line, so a token left in the arguments or in
``sys.argv`` reaches the disk, the run logs and the Hub. huggingface_hub reads ``HF_TOKEN`` from
the environment at each call, so the push still authenticates. Deliberately left out: the
process's own command line as the OS shows it (``ps``); prefer ``HF_TOKEN`` or ``hf auth login``.
"""

from __future__ import annotations

import os
import sys

FLAG = "--hub_token"


def hide_hub_token(args, argv: list[str] | None = None) -> bool:
    """Moves ``args.hub_token`` into ``os.environ["HF_TOKEN"]`` and removes it from ``argv``.

    Args:
        args: Parsed `TrainingArguments` (its ``hub_token`` is set to None).
        argv: The command line to scrub in place (default ``sys.argv``).

    Returns:
        Whether a token was moved.
    """
    argv = sys.argv if argv is None else argv
    token = getattr(args, "hub_token", None)
    kept, skip_next = [], False
    for arg in argv:
        if skip_next:
            skip_next = False
        elif arg == FLAG:
            skip_next = True
        elif not arg.startswith(FLAG + "="):
            kept.append(arg)
    argv[:] = kept
    if not token:
        return False
    os.environ["HF_TOKEN"] = token
    args.hub_token = None
    return True
