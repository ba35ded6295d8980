"""scripts/experiments/benchmark.py: the ratio arithmetic of its table and its memory probe (a tiny
real run: tests/integration/test_benchmark_run.py)."""

import math

import numpy as np
import pytest
from script_loader import load_script


@pytest.fixture(scope="module")
def benchmark():
    return load_script("experiments/benchmark")


def test_table_ratios_are_ours_over_peer_and_inverted_for_latency(benchmark):
    results = {
        "ours-gru": {"dim": 8, "passages_per_s": 300.0, "corpus_p50_ms": 2.0, "loaded_mib": 50.0},
        "st-lstm": {"dim": 8, "passages_per_s": 100.0, "corpus_p50_ms": 8.0, "loaded_mib": 100.0},
    }
    table = benchmark.format_table(results, {"note": "test"})
    ratio_row = next(line for line in table.splitlines() if "ours-gru / st-lstm" in line)
    assert ratio_row.split("|")[3:6] == [" 3.00× ", " 4.00× ", " 2.00× "]


def test_memory_probe_reads_this_process_in_mib(benchmark):
    # /proc/self/status gives kB: 64 MiB written into fresh pages must read as ~64 more MiB.
    before = benchmark._status_mib("VmRSS")
    block = np.ones(64 * 2**20 // 8)  # float64: every page of 64 MiB written
    grown = benchmark._status_mib("VmRSS") - before
    assert 60 <= grown <= 72, grown
    assert benchmark._status_mib("VmHWM") >= before + 60  # the peak saw the block too
    del block
    assert math.isnan(benchmark._status_mib("VmNoSuchField"))
