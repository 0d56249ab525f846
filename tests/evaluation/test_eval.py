"""`radsearch eval`: every figure beside same-run baselines; the trained demo must beat them."""

from __future__ import annotations

import json

from click.testing import CliRunner

from radsearch import open_library
from radsearch.cli import main
from radsearch.evaluation.retrieval import evaluate


def test_baselines_are_scored_on_the_same_gallery_and_queries(tiny_library, tiny_archive):
    report = evaluate(open_library(tiny_library), tiny_archive / "manifest.csv", k=3, split=None,
                      baselines=("random-init", "pixels"), progress=False)
    assert [s.name for s in [report.model, *report.baselines]] == ["model", "random-init", "pixels"]
    pixels = report.baselines[1]
    assert pixels.text_precision_at_k is None and pixels.report_recall_at_k is None  # no text side
    assert report.baselines[0].text_precision_at_k is not None
    for scores in (report.model, *report.baselines):
        assert 0 <= scores.image_precision_at_k <= 1 and 0 <= scores.image_ndcg_at_k <= 1
        assert scores.by_body_part and set(scores.by_body_part) <= {"CHEST", "HAND", "KNEE", "PELVIS"}
    assert report.image_precision_at_k == report.model.image_precision_at_k
    header = report.table().splitlines()[0]
    assert "model" in header and "random-init" in header and "pixels" in header


def test_cli_eval_prints_json_with_each_baseline(tiny_library, tiny_archive):
    result = CliRunner().invoke(main, ["eval", "--library", str(tiny_library), "--queries",
                                       str(tiny_archive / "manifest.csv"), "--split", "", "-k", "3",
                                       "--baseline", "pixels", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert {"model", "pixels"} <= set(data) and "image_ndcg_at_k" in data["pixels"]


def test_cli_eval_drafts_scores_drafts_beside_the_nearest_report(tiny_library, tiny_archive):
    result = CliRunner().invoke(main, ["eval", "--library", str(tiny_library), "--queries",
                                       str(tiny_archive / "manifest.csv"), "--split", "", "-k", "3", "--drafts",
                                       "--json"])
    assert result.exit_code == 0, result.output
    drafting = json.loads(result.output)["drafting"]
    assert drafting["queries"] > 0 and 0.0 <= drafting["abstained"] <= 1.0
    assert set(drafting["micro_f1"]) == {"draft", "nearest report"}
    assert all(0.0 <= f1 <= 1.0 for scores in drafting["per_label"].values() for f1 in scores.values())


def test_trained_demo_beats_both_baselines(demo_dir):
    # training is deterministic (fixed seeds, deterministic vocabulary): see docs/benchmarks.md for the figures
    report = evaluate(open_library(demo_dir / "library"), demo_dir / "archive" / "manifest.csv", k=10,
                      baselines=("random-init", "pixels"), progress=False)
    assert report.queries > 100 and report.paired_queries == report.queries
    assert report.image_precision_at_k >= 0.8, report.table()
    assert report.text_precision_at_k is not None and report.text_precision_at_k > 0.8, report.table()
    random_init, pixels = report.baselines
    for baseline in (random_init, pixels):
        assert report.image_precision_at_k > baseline.image_precision_at_k, report.table()
        assert report.image_map_at_k > baseline.image_map_at_k, report.table()
        assert report.image_ndcg_at_k > baseline.image_ndcg_at_k, report.table()
    assert report.text_recall_at_k > random_init.text_recall_at_k, report.table()
    assert report.report_recall_at_k > random_init.report_recall_at_k, report.table()
    assert report.model.probe_auroc_mean > random_init.probe_auroc_mean, report.table()
    # the demo's contrastive-only recipe does not beat raw pixels' linear probe (0.875 vs 0.927 with the
    # cross-validated probe; the synthetic chests are registered): docs/benchmarks.md
    assert set(report.model.zero_shot_auroc) == set(report.model.probe_auroc) and not pixels.zero_shot_auroc
    # zero-shot ("X" against "no X") is not stable across training seeds: mean AUROC 0.489 (seed 1, below
    # random-init's 0.542) and 0.567 (seed 2, random-init 0.537); seed 0 clears random-init by more than 0.05.
    # So only its presence is asserted here; the retrieval claims above hold on seeds 0, 1 and 2.
    assert all(0.0 <= v <= 1.0 for v in report.model.zero_shot_auroc.values())


def test_demo_drafts_assert_findings_at_least_as_well_as_the_nearest_report(demo_dir):
    from radsearch.evaluation.drafting import evaluate_drafts
    scores = evaluate_drafts(open_library(demo_dir / "library"), demo_dir / "archive" / "manifest.csv", k=10,
                             progress=False)
    # measured on 164 test studies: micro F1 0.740 against 0.727 (seed 0, medspaCy reading), 5% without a draft;
    # seed 2 drafts 0.714 against 0.717, so the draft is held to the nearest report's level within 0.02
    assert scores.micro_f1["draft"] >= scores.micro_f1["nearest report"] - 0.02
    assert scores.abstained <= 0.1
