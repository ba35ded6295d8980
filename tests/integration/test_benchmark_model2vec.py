"""scripts/experiments/benchmark.py with the model2vec peer: measured for encoding and search
only (no training), and ours divided by it in the table. A tiny static model stands in for the
distilled one, which is built outside the tests."""

from __future__ import annotations

from script_loader import load_script
from tiny import tiny_benchmark_argv
from tiny_static import save_static_model

from modeling.retrieval import baselines


def test_model2vec_rows_and_ratios(msmarco_dir, tmp_path, monkeypatch):
    save_static_model(tmp_path / "static")
    monkeypatch.setattr(baselines, "DEFAULT_MODEL2VEC_DIR", tmp_path / "static")
    benchmark = load_script("experiments/benchmark")
    out = benchmark.main(
        tiny_benchmark_argv(msmarco_dir, tmp_path / "bench.json", "ours-gru,model2vec", rounds=2)
    )
    peer = out["results"]["model2vec"]
    assert "train_pairs_per_s" not in peer and out["results"]["ours-gru"]["train_pairs_per_s"] > 0
    assert peer["dim"] == 5 and len(peer["rounds"]["passages_per_s"]) == 2
    assert peer["passages_per_s"] > 0 and peer["corpus_p50_ms"] > 0
    assert "| **ours-gru / model2vec** |" in benchmark.format_table(out["results"], out["meta"])
