"""Operating points and probabilities: a yes/no at a stated sensitivity, not a bare 0.5 threshold."""

from __future__ import annotations

import numpy as np
import pytest

from radsearch.heads.calibration import InvalidOperatingPoint, Rule, calibrate


def _scores(seed: int = 0, n: int = 2000) -> tuple[np.ndarray, np.ndarray]:
    """Truth drawn from a known logistic model of the score, so calibrated probabilities can be checked."""
    rng = np.random.default_rng(seed)
    scores = rng.normal(0, 2, n)
    truth = rng.random(n) < 1 / (1 + np.exp(-(1.5 * scores - 1.0)))
    return scores, truth


def _sensitivity_specificity(probabilities, truth, threshold):
    said = probabilities >= threshold
    return said[truth].mean(), (~said[~truth]).mean()


def test_operating_point_reaches_the_target_sensitivity_with_the_best_specificity_there():
    scores, truth = _scores()
    c = calibrate(scores, truth, Rule.parse("sensitivity=0.9"))
    probabilities = c.probability(scores)
    sensitivity, specificity = _sensitivity_specificity(probabilities, truth, c.point.threshold)
    assert sensitivity >= 0.9 and sensitivity == pytest.approx(c.point.sensitivity)
    assert specificity == pytest.approx(c.point.specificity)
    for threshold in np.unique(probabilities):  # no threshold keeps 90% sensitivity with a better specificity
        other_sens, other_spec = _sensitivity_specificity(probabilities, truth, threshold)
        assert not (other_sens >= 0.9 and other_spec > specificity + 1e-12)


def test_specificity_rule_and_youden_choose_different_points():
    scores, truth = _scores(1)
    strict = calibrate(scores, truth, Rule.parse("specificity=0.95")).point
    youden = calibrate(scores, truth, Rule()).point
    assert strict.specificity >= 0.95 and strict.threshold > youden.threshold
    assert youden.sensitivity + youden.specificity >= strict.sensitivity + strict.specificity


def test_calibrated_probabilities_match_how_often_the_finding_is_there():
    scores, truth = _scores(2, 20_000)
    probabilities = calibrate(scores, truth, Rule()).probability(scores)
    bins = np.digitize(probabilities, np.linspace(0, 1, 11)[1:-1])
    gaps = [abs(probabilities[bins == b].mean() - truth[bins == b].mean())
            for b in range(10) if (bins == b).sum() > 200]
    assert len(gaps) >= 5 and max(gaps) < 0.05


def test_held_out_auroc_is_reported_and_missing_without_both_classes():
    scores, truth = _scores(3)
    assert 0.8 < calibrate(scores, truth, Rule()).auroc < 1.0
    lonely = calibrate(scores[truth], truth[truth], Rule())
    assert lonely.auroc is None and lonely.point is None and lonely.negatives == 0


@pytest.mark.parametrize("text", ["sensitivity", "sensitivity=1.2", "youden=3", "precision=0.9", "specificity=x"])
def test_an_unknown_operating_point_is_refused_with_the_valid_forms(text):
    with pytest.raises(InvalidOperatingPoint, match="youden, sensitivity=0.9 or specificity=0.95"):
        Rule.parse(text)


def test_with_patients_known_the_sensitivity_is_measured_on_patients_that_did_not_choose_the_threshold():
    rule = Rule.parse("sensitivity=0.9")
    in_sample, crossed = [], []
    for seed in range(30):  # small held-out sets, where reading the figure off the chooser flatters most
        scores, truth = _scores(seed, n=120)
        patients = np.array([f"patient-{i // 2}" for i in range(len(scores))])  # two images each
        plain = calibrate(scores, truth, rule)
        checked = calibrate(scores, truth, rule, groups=patients)
        assert checked.point.threshold == plain.point.threshold  # the threshold kept uses every held-out image
        assert "other than those that chose" in checked.point.checked
        in_sample.append(plain.point.sensitivity)
        crossed.append(checked.point.sensitivity)
    assert min(in_sample) >= 0.9  # by construction: the chooser always meets its own target
    assert np.mean(crossed) < np.mean(in_sample)  # on other patients the target is met less often, as in use
