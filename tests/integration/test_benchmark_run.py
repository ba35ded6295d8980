"""scripts/experiments/benchmark.py: a tiny real run of ours vs the sentence-transformers
GloVe+LSTM peer on the real data."""

import pytest
from script_loader import load_script
from tiny import tiny_benchmark_argv

from modeling.training.recipe import RECIPE


@pytest.fixture(scope="module")
def benchmark():
    return load_script("experiments/benchmark")


def test_tiny_real_run_measures_every_system(benchmark, msmarco_dir, tmp_path):
    out = benchmark.main(
        tiny_benchmark_argv(msmarco_dir, tmp_path / "bench.json", "ours-gru,st-lstm", rounds=1)
    )
    results = out["results"]
    assert set(results) == {"ours-gru", "st-lstm"}
    # 8 units per direction: two directions for st-lstm, the recipe's one for ours.
    assert (results["ours-gru"]["dim"], results["st-lstm"]["dim"]) == (8, 16)
    for name in results:
        for key in ("train_pairs_per_s", "passages_per_s", "queries_per_s", "1M_p95_ms"):
            assert results[name][key] > 0, (name, key)
        assert results[name]["corpus_p50_ms"] <= results[name]["corpus_p95_ms"]
    # Ours carries the recipe's lexical part, searched sparse like a real index.
    lexical = {name: results[name]["lexical_buckets"] for name in results}
    assert lexical == {"ours-gru": RECIPE.lexical_buckets, "st-lstm": 0}
    shape = f"| ours-gru | 8 + {RECIPE.lexical_buckets} sparse |"
    assert shape in benchmark.format_table(results, out["meta"])
    # ST's WhitespaceTokenizer drops stop words and punctuation: fewer tokens than ours.
    assert results["st-lstm"]["tokens_per_passage"] < results["ours-gru"]["tokens_per_passage"]
    assert (tmp_path / "bench.json").exists()
