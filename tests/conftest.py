"""What both tiers share: no test reaches for the network.

The tiers: ``tests/unit`` needs nothing outside the repository (tiny vocabularies written in the
tests, `tests/support/tiny.py`); ``tests/integration`` reads the real data in ../shared (its
fixtures are in ``tests/integration/conftest.py``) and runs subprocesses, 2-process launches, the
local Hub server and wandb offline.
"""

from __future__ import annotations

import os

# The Hub and wandb.ai are unreachable here and in CI.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("WANDB_MODE", "disabled")
