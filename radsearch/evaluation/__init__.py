"""Evaluation: retrieval metrics and the same-run baselines they are compared with."""

from .metrics import average_precision_at_k, precision_at_k, recall_at_k, relevant

__all__ = ["average_precision_at_k", "precision_at_k", "recall_at_k", "relevant"]
