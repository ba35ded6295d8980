"""ONNX export and `OnnxEncoder` on tiny odd sizes: PyTorch's vectors, empty texts included."""

import numpy as np
import onnxruntime
import pytest
import torch

from modeling import TwoTowerModel, TwoTowerTokenizerFast
from modeling.retrieval.encoders import TwoTowerEncoder
from modeling.retrieval.loading import load_encoder
from modeling.retrieval.onnx_encoder import OnnxEncoder
from modeling.retrieval.onnx_export import export_onnx, onnx_path

WORDS = [f"w{i}" for i in range(11)] + ["<pad>", "<unk>"]  # vocab 13
# Empty texts and text of unknown words only (one <unk> token) next to real ones; with
# batch_size 2 the two empty texts sort into a batch of their own, of length 0.
TEXTS = ["w1 w2 w3", "", "w4 zzz w4", "w5 w6 w7 w8 w9 w10 w1 w2", "", "zzz", "w3", "w9 w9"]
INT8_TOLERANCE = 0.05  # largest |int8 - float32| per coordinate on these unit vectors
CONFIGS = {
    # Both directions, two layers, a projection, attention pooling and a lexical part.
    "gru": dict(
        rnn_type="gru",
        pooling="attention",
        bidirectional=True,
        num_layers=2,
        output_dim=3,
        lexical_buckets=5,
        hash_unknown_words=True,  # "zzz" gets an id past the vocabulary
        lexical_stems=True,
    ),
    "lstm": dict(rnn_type="lstm", pooling="max", lexical_buckets=4),
}


@pytest.fixture(scope="module", params=["gru", pytest.param("lstm", marks=pytest.mark.slow)])
def checkpoint(request, tmp_path_factory):
    torch.manual_seed(0)
    config = CONFIGS[request.param]
    groups = [i // 2 for i in range(13)] if config.get("lexical_stems") else None  # made-up stems
    model = TwoTowerModel.from_glove(
        torch.randn(13, 7), stem_groups=groups, hidden_size=5, **config
    )
    with torch.no_grad():  # trained-looking term weights: some words weigh 0, others do not
        for tower in (model.query_tower, model.passage_tower):
            tower.lexical.scorer.normal_()
    directory = tmp_path_factory.mktemp(request.param)
    model.save_pretrained(directory)
    TwoTowerTokenizerFast.from_vocabulary(WORDS).save_pretrained(directory)
    export_onnx(directory, int8=request.param == "gru")
    return directory


@pytest.mark.parametrize("side", ["encode_queries", "encode_passages"])
def test_onnx_encoder_gives_pytorch_vectors(checkpoint, side):
    pytorch, onnx = TwoTowerEncoder(checkpoint, batch_size=2), OnnxEncoder(checkpoint, batch_size=2)
    for texts in (TEXTS, ["", ""], [""], ["w1"], []):
        expected, got = getattr(pytorch, side)(texts), getattr(onnx, side)(texts)
        assert got.shape == expected.shape and got.dtype == np.float32
        assert np.abs(got - expected).max(initial=0.0) < 1e-5, texts
    # One batch holding every text: the same vectors as batches by length.
    together = getattr(OnnxEncoder(checkpoint, batch_size=64), side)(TEXTS)
    assert np.abs(together - getattr(onnx, side)(TEXTS)).max() < 1e-5


def test_graph_takes_batches_of_length_zero(checkpoint):
    """Called directly, a batch of empty texts is ``(B, 0)``: the vectors PyTorch gives it."""
    model = TwoTowerModel.from_pretrained(checkpoint).eval()
    session = onnxruntime.InferenceSession(str(onnx_path(checkpoint, "passage")))
    ids = np.zeros((3, 0), dtype=np.int64)
    got = session.run(["embeddings"], {"input_ids": ids, "attention_mask": ids})[0]
    with torch.inference_mode():
        expected = model.encode_passage(torch.from_numpy(ids), torch.from_numpy(ids)).numpy()
    assert got.shape == (3, model.config.embed_size)
    np.testing.assert_allclose(got, expected, atol=1e-6, rtol=0)


def test_int8_copies_are_close(checkpoint):
    if not onnx_path(checkpoint, "query", int8=True).exists():
        # quantize_dynamic also quantises an LSTM op (never a GRU one): far coarser vectors.
        pytest.skip("int8 is held to INT8_TOLERANCE on GRU towers (the recipe's) only")
    pytorch = TwoTowerEncoder(checkpoint)
    int8 = load_encoder(f"onnx-int8:{checkpoint}")
    assert isinstance(int8, OnnxEncoder) and int8.name.endswith("-onnx-int8")
    for side in ("encode_queries", "encode_passages"):
        difference = np.abs(getattr(int8, side)(TEXTS) - getattr(pytorch, side)(TEXTS))
        assert 0 < difference.max() < INT8_TOLERANCE  # quantised, yet close


def test_export_refuses_to_overwrite(checkpoint):
    before = onnx_path(checkpoint, "query").stat().st_mtime_ns
    with pytest.raises(FileExistsError, match="--overwrite"):
        export_onnx(checkpoint)
    assert onnx_path(checkpoint, "query").stat().st_mtime_ns == before


def test_load_encoder_reads_onnx_references(checkpoint):
    encoder = load_encoder(f"onnx:{checkpoint}", batch_size=3)
    assert isinstance(encoder, OnnxEncoder) and encoder.batch_size == 3
    assert encoder.reference == f"onnx:{checkpoint.resolve()}"
    assert (
        encoder.lexical_buckets == CONFIGS[checkpoint.name.rstrip("0123456789")]["lexical_buckets"]
    )


def test_bad_input_gets_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="no config.json"):
        export_onnx(tmp_path)
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(ValueError, match="opset >= 18"):
        export_onnx(tmp_path, opset=17)
    with pytest.raises(FileNotFoundError, match="export_onnx.py"):
        OnnxEncoder(tmp_path)
