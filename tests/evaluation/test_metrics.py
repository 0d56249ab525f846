"""Retrieval metrics, checked on hand-made rankings."""

from __future__ import annotations

import pytest

from radsearch.datasets.report_labels import asserts_phrase, mine_labels
from radsearch.evaluation import average_precision_at_k, precision_at_k, recall_at_k, relevant


def test_relevance_is_label_overlap_and_normal_matches_normal():
    assert relevant(["nodule"], ["nodule", "cardiomegaly"])
    assert not relevant(["nodule"], ["pneumothorax"])
    assert relevant([], [])
    assert not relevant([], ["nodule"])


def test_precision_and_average_precision():
    ranking = [True, False, True, False]
    assert precision_at_k(ranking, 4) == 0.5
    assert average_precision_at_k(ranking, 4, n_relevant=2) == pytest.approx((1 / 1 + 2 / 3) / 2)
    assert average_precision_at_k([True, True], 2, n_relevant=10) == 1.0  # capped at k
    assert average_precision_at_k([False, False], 2, n_relevant=0) == 0.0


def test_recall_at_k_finds_the_target_only_within_k():
    assert recall_at_k([5, 7, 9], 9, 3) == 1.0
    assert recall_at_k([5, 7, 9], 9, 2) == 0.0


def test_gain_is_the_jaccard_overlap_of_label_sets_with_normal_as_a_label():
    from radsearch.evaluation.metrics import gain
    assert gain(["effusion", "nodule"], ["effusion"]) == 0.5
    assert gain([], []) == 1.0 and gain([], ["nodule"]) == 0.0


def test_ndcg_is_one_for_the_ideal_order_and_lower_when_the_best_hit_comes_last():
    from radsearch.evaluation.metrics import ndcg_at_k
    gallery = [1.0, 0.5, 0.0, 0.0]
    assert ndcg_at_k([1.0, 0.5, 0.0], gallery, 3) == 1.0
    assert 0 < ndcg_at_k([0.0, 0.5, 1.0], gallery, 3) < ndcg_at_k([0.5, 1.0, 0.0], gallery, 3) < 1.0
    assert ndcg_at_k([0.0, 0.0], [0.0, 0.0], 2) == 0.0


@pytest.mark.parametrize("text, labels", [
    ("FINDINGS: Small left pleural effusion. There is no pneumothorax. IMPRESSION: Left pleural effusion.",
     {"pleural_effusion"}),
    ("FINDINGS: No pleural effusion or pneumothorax. IMPRESSION: Normal chest radiograph.", set()),
    ("The effusion has resolved. Right apical pneumothorax. Heart is enlarged.", {"pneumothorax", "cardiomegaly"}),
    ("A 9 mm nodule in the left upper zone; no consolidation.", {"nodule"}),
])
def test_labels_mined_from_report_text_respect_negation(text, labels):
    assert mine_labels(text) == labels


REPORT = ("FINDINGS: Patchy airspace opacity in the right lower zone. No pleural effusion or pneumothorax. "
          "Subtle linear shadow at the left base. IMPRESSION: Right lower zone consolidation.")


@pytest.mark.parametrize(("phrase", "stated"), [
    ("consolidation", True),  # named in the impression
    ("airspace disease", True),  # a synonym: the same finding
    ("pleural effusion", False), ("pneumothorax", False),  # named, but negated
    ("linear shadow", True), ("nodule", False),  # a phrase outside the vocabulary, matched by its words
])
def test_a_negated_query_phrase_is_matched_against_what_a_report_states(phrase, stated):
    assert asserts_phrase(REPORT, phrase) is stated


def test_an_unlabelled_image_is_normal_only_within_its_own_source():
    assert relevant([], [], "fracatlas", "fracatlas")  # a hand without a fracture matches another
    assert not relevant([], [], "fracatlas", "nih")  # but not a chest with "No Finding"
    assert relevant(["pneumonia"], ["pneumonia"], "kermany", "nih")  # findings match across sources


def test_the_probes_cross_validation_never_puts_one_patient_in_two_folds(monkeypatch):
    import numpy as np
    from sklearn import linear_model

    from radsearch.datasets import ManifestRecord
    from radsearch.evaluation.holdout import records_gallery
    from radsearch.evaluation.retrieval import _probe
    seen = []
    real = linear_model.LogisticRegressionCV

    def spy(*args, **kwargs):
        seen.append(kwargs["cv"])
        return real(*args, **kwargs)

    monkeypatch.setattr(linear_model, "LogisticRegressionCV", spy)
    rng = np.random.default_rng(0)
    rows = [ManifestRecord(path=f"{i}", patient_id=f"p{i // 4}", labels=["nodule"] if (i // 4) % 2 else [],
                           split="train") for i in range(80)]  # four images per patient
    queries = [ManifestRecord(path=f"q{i}", labels=["nodule"] if i % 2 else []) for i in range(10)]
    vectors = rng.normal(size=(80, 8)).astype(np.float32)
    assert "nodule" in _probe(records_gallery(rows), vectors, queries, rng.normal(size=(10, 8)))
    patients = np.array([r.patient_id for r in rows])
    assert seen and all(not set(patients[train]) & set(patients[test]) for train, test in seen[0])
