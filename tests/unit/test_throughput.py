"""scripts/experiments/throughput.py: systems take turns within each round, warm-up untimed."""

from __future__ import annotations

import numpy as np
import pytest
from script_loader import load_script

from modeling.retrieval.encoders import SymmetricEncoder


class Recorder(SymmetricEncoder):
    def __init__(self, name: str, calls: list):
        self.name, self.calls = name, calls

    def _encode(self, texts, progress_bar):
        self.calls.append((self.name, len(texts)))
        return np.zeros((len(texts), 3), dtype=np.float32)


def test_rounds_interleave_systems_after_an_untimed_warm_up():
    script = load_script("experiments/throughput")
    calls: list = []
    systems = {"a": Recorder("a", calls), "b": Recorder("b", calls)}
    rates = script.interleaved_rates(systems, ["fleas jump"] * 30, rounds=3)
    assert calls == [("a", 3), ("b", 3)] + [("a", 30), ("b", 30)] * 3
    assert {name: len(values) for name, values in rates.items()} == {"a": 3, "b": 3}
    assert all(rate > 0 for values in rates.values() for rate in values)
    with pytest.raises(ValueError, match="at least one round"):
        script.interleaved_rates(systems, ["x"], rounds=0)
