"""From held-out scores to what a reader can act on: an ROC curve, an operating point, a probability.

A head's raw score is turned into a probability by Platt scaling fitted on held-out images, and
into a yes/no by a threshold chosen on the held-out ROC curve: at a target sensitivity, at a target
specificity, or at Youden's J (sensitivity + specificity - 1 highest).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from ..errors import RadsearchError

ROC_POINTS = 101  # the stored curve is thinned to about this many points (enough to draw and to re-choose)


class InvalidOperatingPoint(RadsearchError):
    """An operating point that is not youden, sensitivity=X or specificity=X with 0 < X < 1."""


@dataclass(frozen=True)
class Rule:
    """How the operating point is chosen: 'youden', or a target 'sensitivity'/'specificity' value."""

    kind: str = "youden"
    target: float | None = None

    @classmethod
    def parse(cls, text: str) -> Rule:
        """'youden', 'sensitivity=0.9' or 'specificity=0.95'."""
        name, _, value = (text or "youden").strip().lower().partition("=")
        if name == "youden" and not value:
            return cls()
        if name in ("sensitivity", "specificity") and value:
            try:
                target = float(value)
            except ValueError:
                target = -1.0
            if 0 < target < 1:
                return cls(name, target)
        raise InvalidOperatingPoint(f"operating point {text!r}: give youden, sensitivity=0.9 or specificity=0.95 "
                                    "(targets strictly between 0 and 1)")

    def __str__(self) -> str:
        return self.kind if self.target is None else f"{self.kind}={self.target:g}"


@dataclass
class OperatingPoint:
    """A threshold on the probability with the sensitivity and specificity it gave on held-out data."""

    threshold: float  # probability at or above which the answer is yes
    sensitivity: float
    specificity: float
    rule: str  # how it was chosen, e.g. "sensitivity=0.9"
    checked: str = "on the images that chose it"  # where sensitivity/specificity were measured (see calibrate)


@dataclass
class Calibration:
    """One target's held-out facts: Platt scaling, ROC curve, AUROC and the chosen operating point."""

    slope: float  # probability = sigmoid(slope * score + intercept)
    intercept: float
    auroc: float | None  # None when the held-out set lacked positives or negatives
    positives: int  # held-out counts behind the figures
    negatives: int
    roc: list[tuple[float, float, float]]  # (false-positive rate, true-positive rate, probability threshold)
    point: OperatingPoint | None

    def probability(self, scores: np.ndarray) -> np.ndarray:
        return _sigmoid(self.slope * np.asarray(scores, dtype=np.float64) + self.intercept)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Calibration:
        point = data.get("point")
        return cls(slope=data["slope"], intercept=data["intercept"], auroc=data.get("auroc"),
                   positives=data.get("positives", 0), negatives=data.get("negatives", 0),
                   roc=[tuple(p) for p in data.get("roc", [])], point=OperatingPoint(**point) if point else None)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -40, 40)))


def platt(scores: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    """Slope and intercept mapping raw scores to calibrated probabilities (a 1-D logistic regression)."""
    from sklearn.linear_model import LogisticRegression
    truth = np.asarray(truth, dtype=bool)
    if truth.all() or not truth.any():
        return 1.0, 0.0
    fit = LogisticRegression(C=1e4, max_iter=1000).fit(np.asarray(scores, dtype=np.float64)[:, None], truth)
    return float(fit.coef_[0, 0]), float(fit.intercept_[0])


def calibrate(scores: np.ndarray, truth: np.ndarray, rule: Rule, fit_scaling: bool = True,
              slope: float = 1.0, intercept: float = 0.0, groups: np.ndarray | None = None) -> Calibration:
    """Held-out scores and truth -> Platt scaling (unless fit_scaling=False), ROC curve and operating point.

    With `groups` (the patient of each image) the sensitivity and specificity are not read off the images
    that chose the threshold, which flatters them: the held-out patients are halved, a threshold chosen by
    the rule on one half is applied to the other, both ways, and the two results averaged. The threshold
    kept is the one chosen on all held-out images.
    """
    from sklearn.metrics import roc_auc_score, roc_curve
    scores = np.asarray(scores, dtype=np.float64)
    truth = np.asarray(truth, dtype=bool)
    positives, negatives = int(truth.sum()), int((~truth).sum())
    if fit_scaling:
        slope, intercept = platt(scores, truth)
    if not positives or not negatives:
        return Calibration(slope, intercept, None, positives, negatives, [], None)
    probabilities = _sigmoid(slope * scores + intercept)
    fpr, tpr, thresholds = roc_curve(truth, probabilities)
    thresholds = np.minimum(thresholds, 1.0)  # sklearn's first threshold is +inf ("nothing is positive")
    point = choose_point(fpr, tpr, thresholds, rule)
    if groups is not None:
        point = _cross_checked(point, probabilities, truth, np.asarray(groups, dtype=object), rule)
    keep = np.unique(np.linspace(0, len(fpr) - 1, min(len(fpr), ROC_POINTS)).round().astype(int))
    roc = [(round(float(fpr[i]), 5), round(float(tpr[i]), 5), float(thresholds[i])) for i in keep]
    return Calibration(slope, intercept, float(roc_auc_score(truth, probabilities)), positives, negatives, roc, point)


def _cross_checked(point: OperatingPoint, probabilities: np.ndarray, truth: np.ndarray, groups: np.ndarray,
                   rule: Rule) -> OperatingPoint:
    """The point with sensitivity/specificity measured on the half of the patients that did not choose it."""
    from sklearn.metrics import roc_curve
    half = np.array([patient_share(str(g)) < 0.5 for g in groups])
    results = []
    for choose, check in ((half, ~half), (~half, half)):
        if not all(truth[m].any() and not truth[m].all() for m in (choose, check)):
            return point  # a half without both classes: nothing to cross-check on
        fpr, tpr, thresholds = roc_curve(truth[choose], probabilities[choose])
        threshold = choose_point(fpr, tpr, np.minimum(thresholds, 1.0), rule).threshold
        said = probabilities[check] >= threshold
        results.append((float(said[truth[check]].mean()), float((~said[~truth[check]]).mean())))
    sensitivity, specificity = np.mean(results, axis=0)
    return OperatingPoint(point.threshold, float(sensitivity), float(specificity), point.rule,
                          "on held-out patients other than those that chose the threshold (two halves, averaged)")


def patient_share(key: str) -> float:
    """A fixed number in [0, 1) per patient, so a patient's images all fall on one side of a split."""
    import hashlib
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") / 2**64


def choose_point(fpr: np.ndarray, tpr: np.ndarray, thresholds: np.ndarray, rule: Rule) -> OperatingPoint:
    """The ROC point the rule asks for: the most specific one reaching the target sensitivity, the most
    sensitive one keeping the target specificity, or the one maximising Youden's J."""
    specificity = 1.0 - fpr
    if rule.kind == "sensitivity":
        candidates = np.flatnonzero(tpr >= rule.target)
        best = candidates[np.argmax(specificity[candidates])]
    elif rule.kind == "specificity":
        candidates = np.flatnonzero(specificity >= rule.target)
        best = candidates[np.argmax(tpr[candidates])]
    else:
        best = int(np.argmax(tpr - fpr))
    return OperatingPoint(float(thresholds[best]), float(tpr[best]), float(specificity[best]), str(rule))
