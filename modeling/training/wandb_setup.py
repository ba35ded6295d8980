"""Weights & Biases switch: online with a key, offline on request, otherwise nothing.

The key may come from the environment or a ``.env`` file; it is put in the environment for
wandb to read and is never logged or written to the run config.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

logger = logging.getLogger(__name__)


def resolve_wandb(mode: str = "auto", env_file: str | Path = ".env") -> bool:
    """Prepares the environment for wandb and says whether to report to it.

    Args:
        mode: ``auto`` (online when a key is found), ``online``, ``offline`` or ``disabled``.
        env_file: A dotenv file that may hold ``WANDB_API_KEY`` (and other WANDB_* settings).
    """
    if mode == "disabled":
        return False
    if Path(env_file).is_file():
        from dotenv import dotenv_values

        for name, value in dotenv_values(env_file).items():
            if name.startswith("WANDB_") and value and name not in os.environ:
                os.environ[name] = value
    if mode == "offline" or os.environ.get("WANDB_MODE") == "offline":
        os.environ["WANDB_MODE"] = "offline"
        logger.info(
            "wandb: offline mode, run files under %s", os.environ.get("WANDB_DIR", "./wandb")
        )
        return True
    has_key = bool(os.environ.get("WANDB_API_KEY"))
    if mode == "online" and not has_key:
        raise ValueError(
            "--wandb online needs WANDB_API_KEY in the environment or in .env; "
            "use --wandb offline to log without an account."
        )
    if has_key:
        logger.info("wandb: logging online (API key found)")
    return has_key
