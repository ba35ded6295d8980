"""The scale benchmark at a tiny size: every stage runs on resampled real data and is reported."""

import json

from scale_benchmark import STAGES, main

from modeling.training.recipe import RECIPE


def test_tiny_scale_benchmark_reports_every_stage(msmarco_dir, tmp_path, capsys):
    argv = ["--rows", "300", "--passages", "500", "--queries", "7", "--build_processes", "1",
            "--data_dir", str(msmarco_dir), "--work_dir", str(tmp_path),
            "--output", str(tmp_path / "results.json")]  # fmt: skip
    results = main(argv)
    table = capsys.readouterr().out
    for stage in STAGES:
        row = next(line for line in table.splitlines() if line.startswith(f"| {stage} |"))
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        assert len(cells) == 9 and all(cell for cell in cells), row
    assert [r["stage"] for r in results] == list(STAGES)
    assert all(r["rc"] == 0 and r["cpu_s"] > 0 and r["tree_peak_mb"] > 50 for r in results)
    assert "proportional to size" in table  # 300 rows are below the 1,000-row baseline
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["baseline"] is None and len(saved["main"]) == 4

    main_dir = tmp_path / "main"
    index = json.loads((main_dir / "index" / "index.json").read_text())
    assert index["num_passages"] == 500 and index["lexical_buckets"] == RECIPE.lexical_buckets
    answers = (main_dir / "query_batch.log").read_text().splitlines()
    hits = [json.loads(line) for line in answers if line.startswith("{")]
    assert len(hits) == 7 and all(len(h["hits"]) == 10 for h in hits)
    import pyarrow.parquet as pq

    rows = pq.read_metadata(main_dir / "train.parquet").num_rows
    assert 250 < rows < 300  # ~5% of the rows have no selected passage and are dropped
