"""`radsearch eval` on the demo library: the trained encoder must be worth searching with."""

from __future__ import annotations

from radsearch import open_library
from radsearch.evaluation.retrieval import evaluate


def test_trained_demo_retrieves_by_finding_far_better_than_chance(demo_dir):
    # benchmarks/retrieval_quality.py measures p@10 0.83-0.91 (docs/benchmarks.md); CPU training is not
    # bit-reproducible (oneDNN reductions), so this regression guard leaves room for run-to-run spread.
    report = evaluate(open_library(demo_dir / "library"), demo_dir / "archive" / "manifest.csv", k=10,
                      progress=False)
    assert report.queries > 100
    assert report.image_precision_at_k >= 0.75, report.table()
    assert report.text_precision_at_k is not None and report.text_precision_at_k > 0.8, report.table()
    assert 0 <= report.image_map_at_k <= 1 and report.paired_queries == report.queries
    assert "image->image precision@10" in report.table()
