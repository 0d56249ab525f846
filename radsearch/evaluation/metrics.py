"""Retrieval metrics on ranked lists; pure functions so baselines and models are scored alike."""

from __future__ import annotations

import math
from collections.abc import Sequence

NORMAL = "normal"  # the label of an image with no findings, so normals can match normals


def label_set(labels: Sequence[str], source: str = "") -> frozenset[str]:
    """An image's labels; an unlabelled one is "normal", qualified by its source when that is known.

    An unlabelled image is normal only for the findings its own collection annotates (a hand without an
    annotated fracture, a chest with "No Finding"), so a normal of one source does not count as a match
    for a normal of another.
    """
    if labels:
        return frozenset(labels)
    return frozenset({f"{NORMAL} ({source})" if source else NORMAL})


def relevant(query_labels: Sequence[str], hit_labels: Sequence[str], query_source: str = "",
             hit_source: str = "") -> bool:
    """A hit is relevant when it shares at least one label with the query (normal counts as a label)."""
    return bool(label_set(query_labels, query_source) & label_set(hit_labels, hit_source))


def precision_at_k(relevance: Sequence[bool], k: int) -> float:
    return sum(relevance[:k]) / k if k else 0.0


def average_precision_at_k(relevance: Sequence[bool], k: int, n_relevant: int) -> float:
    """AP@k normalised by min(k, number of relevant items in the gallery)."""
    denominator = min(k, n_relevant)
    if denominator == 0:
        return 0.0
    hits, total = 0, 0.0
    for rank, is_relevant in enumerate(relevance[:k], start=1):
        if is_relevant:
            hits += 1
            total += hits / rank
    return total / denominator


def recall_at_k(ranked_ids: Sequence[int], target: int, k: int) -> float:
    return 1.0 if target in list(ranked_ids)[:k] else 0.0


def gain(query_labels: Sequence[str], hit_labels: Sequence[str], query_source: str = "",
         hit_source: str = "") -> float:
    """Graded relevance: Jaccard overlap of the label sets (normal counts as a label)."""
    a, b = label_set(query_labels, query_source), label_set(hit_labels, hit_source)
    return len(a & b) / len(a | b)


def ndcg_at_k(gains: Sequence[float], ideal: Sequence[float], k: int) -> float:
    """nDCG@k of ranked gains against the best possible ordering of the gallery's gains."""
    def dcg(values: Sequence[float]) -> float:
        return sum(g / math.log2(rank + 2) for rank, g in enumerate(list(values)[:k]))
    best = dcg(sorted(ideal, reverse=True))
    return dcg(gains) / best if best > 0 else 0.0
