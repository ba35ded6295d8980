"""`Model2VecEncoder`: the static model2vec peer, loaded from a directory (a tiny one here)."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from tiny_static import save_static_model

from modeling.retrieval import baselines
from modeling.retrieval.baselines import Model2VecEncoder
from modeling.retrieval.loading import load_encoder


@pytest.fixture(scope="module")
def static_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("static")
    return path, save_static_model(path)


def test_vectors_are_the_normalised_mean_of_token_rows(static_dir):
    path, vectors = static_dir
    encoder = Model2VecEncoder(path)
    out = encoder.encode_passages(["fleas bite dogs", "eggs hatch"])
    expected = np.stack([vectors[[1, 5, 4]].mean(0), vectors[[6, 7]].mean(0)])
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(encoder.encode_queries(["eggs hatch"]), out[1:])  # symmetric
    assert out.dtype == np.float32 and encoder.encode_queries([]).shape == (0, 5)
    with pytest.raises(ValueError, match="list of strings"):
        encoder.encode_queries("fleas")


def test_load_encoder_reads_the_default_directory(static_dir, monkeypatch, tmp_path):
    path, _ = static_dir
    monkeypatch.setattr(baselines, "DEFAULT_MODEL2VEC_DIR", path)
    encoder = load_encoder("model2vec")
    assert isinstance(encoder, Model2VecEncoder) and encoder.reference == "model2vec"
    assert encoder.encode_queries(["fleas"]).shape == (1, 5)
    other = shutil.copytree(path, tmp_path / "other")
    by_path = load_encoder(other)  # any model2vec directory, e.g. the reference an index records
    assert isinstance(by_path, Model2VecEncoder) and by_path.reference == str(other.resolve())


def test_missing_model_says_how_to_build_it(tmp_path, monkeypatch):
    monkeypatch.setattr(baselines, "DEFAULT_MODEL2VEC_DIR", tmp_path / "absent")
    with pytest.raises(FileNotFoundError, match="distill_model2vec.py"):
        load_encoder("model2vec")


def test_distill_script_builds_once(static_dir, monkeypatch):
    from script_loader import load_script

    path, _ = static_dir
    script = load_script("experiments/distill_model2vec")

    def no_venv(directory):
        raise AssertionError("an existing model must not be rebuilt")

    monkeypatch.setattr(script, "ensure_distill_venv", no_venv)
    assert script.main(["--output_dir", str(path)]) == path
    with pytest.raises(AssertionError, match="not be rebuilt"):
        script.main(["--output_dir", str(path), "--force"])
