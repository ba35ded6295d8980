"""The real GloVe 6B 50d vocabulary and a tokenizer over all of it."""

import numpy as np


def test_real_glove_has_pad_and_unk_rows(glove):
    assert len(glove.words) == 400_002 and glove.vectors.shape == (400_002, 50)
    assert glove.words[-2:] == ["<pad>", "<unk>"]
    assert np.all(glove.vectors[glove.pad_id] == 0)
    np.testing.assert_allclose(glove.vectors[glove.unk_id], glove.vectors[:-2].mean(0), atol=1e-6)
    assert glove.words[0] == "the"


def test_real_glove_vocabulary(glove, glove_tokenizer):
    ids = glove_tokenizer("The cat")["input_ids"]
    assert ids == [glove.words.index("the"), glove.words.index("cat")]
    assert glove_tokenizer.pad_token_id == glove.pad_id == 400_000
    assert glove_tokenizer.unk_token_id == glove.unk_id == 400_001
