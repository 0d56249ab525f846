"""Label noise: labels that disagree with the report they came with, or with most of the image's neighbours.

The report check reads the study's report with the negation-aware labeller (datasets.report_labels)
over the library's label vocabulary: a label the report negates, or a finding it states that the
labels lack, is a likely error. The neighbour check flags a label held by few of the k nearest
images of other patients (or lacked by nearly all of them). Both rank by confidence.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.metrics import roc_auc_score

from ..datasets.report_labels import mentioned_labels, mine_labels
from ..storage import ImageRecord
from .neighbours import knn_graph

# Defaults, each with its reason.
NEIGHBOURS = 10  # neighbours of other patients that vote on each label
DISAGREE = 0.9  # a neighbour vote this lopsided against the label flags it: findings are subtle, so be sure
MIN_VOTE_AUROC = 0.9  # how well the neighbour vote must separate a label before it may overrule one
MIN_LABELLED = 10  # labels carried by fewer images are too rare to judge by neighbours
REPORT_CONFIDENCE = 0.95  # a report that states the opposite is strong evidence, but reports err too


def report_disagreements(rows: dict[int, ImageRecord], vocabulary: set[str]) -> list[dict[str, Any]]:
    """(image, label) pairs where the stored labels and the study's report disagree."""
    out = []
    for image_id, row in rows.items():
        report = row.report
        if not report:
            continue
        stated, named = mine_labels(report) & vocabulary, mentioned_labels(report) & vocabulary
        labels = set(row.labels)
        for label in sorted((named - stated) & labels):
            out.append(_row(image_id, label, True, REPORT_CONFIDENCE, "report", "the report negates it"))
        for label in sorted(stated - labels):
            out.append(_row(image_id, label, False, REPORT_CONFIDENCE, "report", "the report states it"))
    return out


def neighbour_disagreements(ids: np.ndarray, vectors: np.ndarray, rows: dict[int, ImageRecord],
                            vocabulary: set[str], k: int = NEIGHBOURS) -> list[dict[str, Any]]:
    """(image, label) pairs where the label goes against the vote of the image's k nearest other patients.

    Only labels the embedding separates are judged (the neighbour vote's AUROC over the library is at
    least MIN_VOTE_AUROC): for a finding the encoder cannot see, a lopsided vote says nothing.
    """
    neighbours, _ = knn_graph(ids, vectors, k * 3)  # over-fetch: same-patient neighbours are left out
    votes: dict[int, list[int]] = {}
    for image_id, found in zip(ids.tolist(), neighbours.tolist()):
        row = rows[image_id]
        patient = row.metadata["patient_id"]
        others = [n for n in found if n >= 0 and rows[n].metadata["patient_id"] != patient
                  and rows[n].metadata["body_part"] == row.metadata["body_part"]][:k]
        if len(others) >= k // 2:
            votes[image_id] = others
    out = []
    for label in sorted(vocabulary):
        parts = {rows[i].metadata["body_part"] for i in votes if label in rows[i].labels}
        judged = [i for i in votes if rows[i].metadata["body_part"] in parts]
        held = np.array([label in rows[i].labels for i in judged])
        share = np.array([sum(label in rows[n].labels for n in votes[i]) / len(votes[i]) for i in judged])
        if held.all() or not held.any() or roc_auc_score(held, share) < MIN_VOTE_AUROC:
            continue
        for image_id, has, s in zip(judged, held.tolist(), share.tolist()):
            against = (1 - s) if has else s
            if against >= DISAGREE:
                out.append(_row(image_id, label, has, round(against, 3), "neighbours",
                                f"{round(s * len(votes[image_id]))} of {len(votes[image_id])} nearest images of "
                                "other patients have it"))
    return out


def label_noise(ids: np.ndarray, vectors: np.ndarray, rows: dict[int, ImageRecord]) -> list[dict[str, Any]]:
    """Both checks, most confident first. Neighbours judge only the labels a report does not address."""
    counts: dict[str, int] = {}
    for row in rows.values():
        for label in row.labels:
            counts[label] = counts.get(label, 0) + 1
    vocabulary = {label for label, n in counts.items() if n >= MIN_LABELLED}
    # a report that takes a position on a label outranks the neighbours: they judge only what it is silent on
    addressed = {(i, label) for i, row in rows.items() for label in mentioned_labels(row.report or "")}
    neighbours = [r for r in neighbour_disagreements(ids, vectors, rows, vocabulary)
                  if (r["image_id"], r["label"]) not in addressed]
    found = report_disagreements(rows, vocabulary) + neighbours
    return sorted(found, key=lambda r: (-r["confidence"], r["image_id"], r["label"]))


def _row(image_id: int, label: str, held: bool, confidence: float, source: str, reason: str) -> dict[str, Any]:
    return {"image_id": image_id, "label": label, "stored": "yes" if held else "no",
            "suggested": "no" if held else "yes", "confidence": confidence, "source": source, "reason": reason}
