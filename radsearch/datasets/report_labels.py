"""Findings a report (or a draft, or a query phrase) states, read with their modifiers.

Labels come from `report_reading`: a finding counts as stated when present or unchanged, as ruled
out when absent or resolved, and not at all when uncertain ("Cannot exclude pneumothorax.").
"""

from __future__ import annotations

from .report_reading import read_phrase, read_report
from .report_rules import FINDING_TARGETS

FINDING_LABELS = tuple(FINDING_TARGETS)  # the findings radsearch reads in report text


def mine_labels(text: str) -> set[str]:
    """Labels the text says are in the image (present or unchanged)."""
    return read_report(text).labels()


def mentioned_labels(text: str) -> set[str]:
    """Labels on which the text takes a position: stated, or ruled out ("No effusion.", "Heart size is
    normal.", "The pneumothorax has resolved."). An uncertain mention takes no position."""
    return set(read_report(text).positions())


def asserts_phrase(text: str, phrase: str) -> bool:
    """Whether a report asserts what `phrase` names: a known finding through its synonyms
    (asserts_phrase(report, "consolidation") is true for "Patchy airspace opacity."), any other phrase
    by its words, read with the same modifiers (negated, uncertain, resolved: not asserted)."""
    labels = mine_labels(phrase)
    if labels:
        return bool(mine_labels(text) & labels)
    return any(finding.asserted for finding in read_phrase(text, phrase))
