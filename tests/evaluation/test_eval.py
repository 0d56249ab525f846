"""`radsearch eval` on the demo library: the trained encoder must be worth searching with."""

from __future__ import annotations

from radsearch import open_library
from radsearch.evaluation.retrieval import evaluate


def test_trained_demo_reaches_precision_at_10_of_0_8(demo_dir):
    # training is deterministic (fixed seeds, deterministic vocabulary): measured 0.902, see docs/benchmarks.md
    report = evaluate(open_library(demo_dir / "library"), demo_dir / "archive" / "manifest.csv", k=10,
                      progress=False)
    assert report.queries > 100
    assert report.image_precision_at_k >= 0.8, report.table()
    assert report.text_precision_at_k is not None and report.text_precision_at_k > 0.8, report.table()
    assert 0 <= report.image_map_at_k <= 1 and report.paired_queries == report.queries
    assert "image->image precision@10" in report.table()
