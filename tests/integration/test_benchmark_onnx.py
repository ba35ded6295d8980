"""The benchmark's onnxruntime systems on real GloVe and MS MARCO text: they encode as the
PyTorch model they were exported from (float32 to 1e-5, int8 within 0.05)."""

import json
from itertools import islice

import numpy as np
import pytest
from script_loader import load_script


@pytest.fixture(scope="module")
def benchmark():
    return load_script("experiments/benchmark")


def test_onnx_systems_encode_as_the_pytorch_model(benchmark, msmarco_dir, glove):
    from benchmark_systems import build_system

    args = benchmark.parse_args(["--hidden_size", "8", "--encode_batch_size", "16"])
    fp32 = build_system("ours-gru-onnx", glove, args)
    int8 = build_system("ours-gru-onnx-int8", glove, args)
    assert not fp32.trainable and fp32.lexical_buckets == args.lexical_buckets
    with open(msmarco_dir / "dev600_bm25top20.jsonl", encoding="utf-8") as handle:
        rows = [json.loads(line) for line in islice(handle, 40)]
    queries = [row["query"] for row in rows] + ["", "the of and"]  # empty; stopwords only
    passages = [row["passages"]["passage_text"][0] for row in rows] + ["", ""]
    for side, texts in (("encode_queries", queries), ("encode_passages", passages)):
        expected = getattr(fp32.ours, side)(texts)  # the PyTorch model that was exported
        assert np.abs(getattr(fp32, side)(texts) - expected).max() < 1e-5, side
        difference = np.abs(getattr(int8, side)(texts) - expected).max()
        assert 0 < difference < 0.05, side
    assert np.abs(fp32.encode_passages(["", ""]) - fp32.ours.encode_passages(["", ""])).max() < 1e-5
