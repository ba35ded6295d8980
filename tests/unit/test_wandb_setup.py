"""`resolve_wandb`: which mode a run gets from --wandb and `.env`, and that only the key is read."""

import os

import pytest

from modeling.training.wandb_setup import resolve_wandb

FAKE_KEY = "local-" + "5eC7e7" * 6 + "ab12"  # 44 characters, shaped like a wandb key


def test_resolve_wandb_modes(tmp_path, monkeypatch):
    # resolve_wandb writes os.environ: give it a copy without WANDB_*, restored afterwards.
    clean = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_")}
    monkeypatch.setattr(os, "environ", clean)
    no_env = tmp_path / "missing.env"
    assert resolve_wandb("auto", no_env) is False  # no key: no wandb, no error
    with pytest.raises(ValueError, match="--wandb offline"):
        resolve_wandb("online", no_env)
    assert resolve_wandb("offline", no_env) is True
    assert os.environ.pop("WANDB_MODE") == "offline"
    env_file = tmp_path / ".env"
    env_file.write_text(f"WANDB_API_KEY={FAKE_KEY}\nOTHER_SECRET=x\n")
    assert resolve_wandb("auto", env_file) is True
    assert os.environ["WANDB_API_KEY"] == FAKE_KEY and "OTHER_SECRET" not in os.environ
    assert resolve_wandb("disabled", env_file) is False
