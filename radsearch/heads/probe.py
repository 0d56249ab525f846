"""Probe heads: a linear layer or a small MLP fitted on stored embeddings, checked on held-out images.

Fitting reads only the catalog's embeddings (no image is decoded again), so a head for a new
label costs seconds even on a large library. The held-out images calibrate the head and give
its ROC curve and operating point (heads.calibration).
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from ..errors import RadsearchError
from .calibration import Rule, calibrate
from .head import KINDS, Head

C_LINEAR = 10.0  # inverse L2 strength for unit-norm embeddings; 1.0 under-fits 128-d unit vectors
MLP_HIDDEN = 128  # one hidden layer: enough for the interactions a linear probe misses, little to over-fit
MLP_ALPHA = 1e-3
MIN_PER_CLASS = 3  # positives and negatives each side needs before a target is worth a head


class NotEnoughExamples(RadsearchError):
    """Too few labelled images (or of one class) to fit or to check a head."""


def fit_probe(name: str, embeddings: np.ndarray, truth: np.ndarray, targets: list[str], task: str,
              train: np.ndarray, heldout: np.ndarray, kind: str = "linear", rule: Rule | None = None,
              model_id: str = "", seed: int = 0, patients: np.ndarray | None = None) -> Head:
    """A probe head fitted on embeddings[train] and calibrated on embeddings[heldout].

    truth: (n, T) booleans for task="binary" (one column per target), or (n,) class indices into
    `targets` for task="categorical". train and heldout are boolean masks or index arrays. With `patients`
    (n,) the operating point's sensitivity and specificity are measured on other held-out patients than
    those that chose it (heads.calibration.calibrate).
    """
    rule = rule or Rule()
    x_train, x_held = embeddings[train], embeddings[heldout]
    y_train, y_held = truth[train], truth[heldout]
    _check_counts(name, targets, task, y_train, y_held)
    if kind == "linear":
        layers = _fit_linear(x_train, y_train, task, len(targets), seed)
    elif kind == "mlp":
        layers = _fit_mlp(x_train, y_train, task, len(targets), seed)
    else:
        raise RadsearchError(f"probe kind {kind!r}: choose {' or '.join(k for k in KINDS if k != 'zero-shot')}")
    head = Head(name=name, kind=kind, task=task, targets=list(targets), model_id=model_id, layers=layers,
                created=datetime.now(UTC).isoformat(timespec="seconds"))
    finish_calibration(head, x_held, y_held, rule, groups=None if patients is None else patients[heldout])
    head.metrics.update(train_images=int(len(x_train)), heldout_images=int(len(x_held)))
    return head


def finish_calibration(head: Head, x_held: np.ndarray, y_held: np.ndarray, rule: Rule,
                       fit_scaling: bool = True, groups: np.ndarray | None = None) -> None:
    """Per-target calibration, ROC and operating point from held-out embeddings and truth."""
    logits = head.logits(x_held)
    if head.task == "categorical":
        if fit_scaling:
            head.metrics["temperature"] = _temperature(logits, y_held)
        probabilities = head.probabilities(x_held)
        head.metrics["accuracy"] = float(np.mean(probabilities.argmax(axis=1) == y_held))
        for t, target in enumerate(head.targets):
            p = np.clip(probabilities[:, t], 1e-9, 1 - 1e-9)
            # one class against the rest, on the probability itself (slope 1, intercept 0 on its logit)
            head.calibrations[target] = calibrate(np.log(p / (1 - p)), y_held == t, rule, fit_scaling=False,
                                                  groups=groups)
    else:
        for t, target in enumerate(head.targets):
            head.calibrations[target] = calibrate(logits[:, t], y_held[:, t], rule, fit_scaling=fit_scaling,
                                                  groups=groups)
    head.metrics["auroc"] = {t: c.auroc for t, c in head.calibrations.items()}
    head.metrics["rule"] = str(rule)


def _check_counts(name: str, targets: list[str], task: str, y_train: np.ndarray, y_held: np.ndarray) -> None:
    for side, y in (("training", y_train), ("held-out", y_held)):
        if task == "categorical":
            counts = np.bincount(y, minlength=len(targets))
            short = [t for t, c in zip(targets, counts) if c < MIN_PER_CLASS]
        else:
            short = [t for i, t in enumerate(targets)
                     if min(int(y[:, i].sum()), int((~y[:, i]).sum())) < MIN_PER_CLASS]
        if short:
            raise NotEnoughExamples(
                f"head {name!r}: fewer than {MIN_PER_CLASS} {side} images for {', '.join(short)} "
                f"(or for their absence); index more labelled images, or leave those targets out")


def _fit_linear(x: np.ndarray, y: np.ndarray, task: str, n_targets: int, seed: int) -> list:
    from sklearn.linear_model import LogisticRegression
    if task == "categorical":
        fit = LogisticRegression(C=C_LINEAR, max_iter=3000, class_weight="balanced", random_state=seed).fit(x, y)
        weights, bias = fit.coef_.T, fit.intercept_
        if n_targets == 2:  # sklearn keeps one column for two classes: class 1 against class 0
            weights, bias = np.concatenate([np.zeros_like(weights), weights], 1), np.array([0.0, bias[0]])
        return [(weights.astype(np.float64), bias.astype(np.float64))]
    weights, bias = np.zeros((x.shape[1], n_targets)), np.zeros(n_targets)
    for t in range(n_targets):
        fit = LogisticRegression(C=C_LINEAR, max_iter=3000, class_weight="balanced", random_state=seed)
        fit.fit(x, y[:, t])
        weights[:, t], bias[t] = fit.coef_[0], fit.intercept_[0]
    return [(weights, bias)]


def _fit_mlp(x: np.ndarray, y: np.ndarray, task: str, n_targets: int, seed: int) -> list:
    from sklearn.neural_network import MLPClassifier
    fit = MLPClassifier(hidden_layer_sizes=(MLP_HIDDEN,), alpha=MLP_ALPHA, max_iter=500, early_stopping=True,
                        n_iter_no_change=20, random_state=seed)
    fit.fit(x, y if task == "categorical" or n_targets > 1 else y[:, 0])
    layers = [(w.astype(np.float64), b.astype(np.float64)) for w, b in zip(fit.coefs_, fit.intercepts_)]
    if task == "categorical" and n_targets == 2:  # one logistic output for two classes: make it two logits
        w, b = layers[-1]
        layers[-1] = (np.concatenate([np.zeros_like(w), w], 1), np.array([0.0, b[0]]))
    return layers


def _temperature(logits: np.ndarray, y: np.ndarray) -> float:
    """The softmax temperature that minimises held-out negative log-likelihood (categorical calibration)."""
    from scipy.optimize import minimize_scalar

    def nll(log_t: float) -> float:
        z = logits / np.exp(log_t)
        z = z - z.max(axis=1, keepdims=True)
        return float(-(z[np.arange(len(y)), y] - np.log(np.exp(z).sum(axis=1))).mean())
    return float(np.exp(minimize_scalar(nll, bounds=(-4, 4), method="bounded").x))
