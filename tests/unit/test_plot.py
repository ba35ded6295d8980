"""scripts/experiments/plot.py: points from evaluate.py's JSON, hybrid speeds, the PNG."""

from __future__ import annotations

import json
import logging

import pytest
from script_loader import load_script

RESULTS = {
    "BM25": {"dev600-rerank/MRR@10": 0.38, "dl19-pool/nDCG@10": 0.44, "passages_per_s": 400.0},
    "ours": {"dev600-rerank/MRR@10": 0.44, "dl19-pool/nDCG@10": 0.47, "passages_per_s": 100.0},
    "ours + BM25 (RRF)": {"dev600-rerank/MRR@10": 0.45, "dl19-pool/nDCG@10": 0.50},
    "no speed": {"dev600-rerank/MRR@10": 0.1, "dl19-pool/nDCG@10": 0.1},
}


@pytest.fixture(scope="module")
def plot_script():
    return load_script("experiments/plot")


def test_hybrid_speed_combines_both_and_rows_without_speed_are_reported(plot_script, caplog):
    with caplog.at_level(logging.WARNING):
        points = {p["name"]: p for p in plot_script.points(RESULTS)}
    assert set(points) == {"BM25", "ours", "ours + BM25 (RRF)"}
    assert points["ours + BM25 (RRF)"]["speed"] == pytest.approx(80.0)  # 1 / (1/100 + 1/400)
    assert points["ours"]["dl19-pool/nDCG@10"] == 0.47
    assert "no speed left out" in caplog.text


def test_files_merge_and_the_png_is_written(plot_script, tmp_path, caplog):
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    first.write_text(json.dumps({k: RESULTS[k] for k in ("BM25", "ours")}))
    second.write_text(json.dumps({"ours + BM25 (RRF)": RESULTS["ours + BM25 (RRF)"]}))
    output = plot_script.main(
        ["--eval", str(first), str(second), "--output", str(tmp_path / "p.png")]
    )
    import matplotlib.image

    height, width = matplotlib.image.imread(output).shape[:2]
    assert width > 2 * height > 400  # two panels side by side
    speeds = tmp_path / "speeds.json"
    speeds.write_text(json.dumps({"ours": {"passages_per_s": 250.0}}))
    with caplog.at_level(logging.WARNING):
        merged = plot_script.merge_results([first, speeds])
    assert merged["ours"] == {**RESULTS["ours"], "passages_per_s": 250.0}  # the speed replaced
    assert merged["BM25"] == RESULTS["BM25"] and "['passages_per_s'] from" in caplog.text


def test_not_an_evaluation_file_is_refused(plot_script, tmp_path):
    bad = tmp_path / "bench.json"
    bad.write_text(json.dumps({"results": {}, "meta": "x"}))
    with pytest.raises(ValueError, match="not a scripts/evaluate.py output"):
        plot_script.merge_results([bad])
    with pytest.raises(ValueError, match="No system"):
        plot_script.points({"x": {"passages_per_s": 1.0}})
