"""Long documents as overlapping windows of words, each document scoring its best window.

An encoder that reads a fixed number of tokens sees only the start of a long document; cutting
the document into windows of ``size`` words every ``stride`` words (the last window ends with the
document) lets every part of it be matched, and the document takes the maximum of its windows'
scores (MaxP, Dai & Callan 2019; the evaluation runner pools them). Windows count
whitespace-separated words, so they apply to any encoder. Deliberately left out: other
aggregations (sum, first window).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def split_windows(texts: Sequence[str], size: int, stride: int) -> tuple[list[str], np.ndarray]:
    """Texts -> window texts and, per window, the row of the text it comes from.

    A text of at most ``size`` words is one window (itself, whitespace collapsed); windows of a
    text are consecutive, in order.

    Args:
        texts: The documents.
        size: Words per window.
        stride: Words between the starts of consecutive windows (``stride <= size`` overlaps).

    Returns:
        ``(windows, owners)``: ``owners[i]`` is the row in ``texts`` of ``windows[i]``.
    """
    if size < 1 or not 1 <= stride <= size:
        raise ValueError(
            f"Windows of {size} words every {stride}: need size >= 1 and 1 <= stride <= size."
        )
    windows, owners = [], []
    for row, text in enumerate(texts):
        words = text.split()
        starts = range(0, max(len(words) - size, 0) + stride, stride)
        for start in starts:
            windows.append(" ".join(words[start : start + size]))
            owners.append(row)
            if start + size >= len(words):
                break
    return windows, np.asarray(owners, dtype=np.int64)
