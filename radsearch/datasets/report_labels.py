"""Findings stated in report text, negations respected: the labels a draft or a report asserts.

A small rule-based labeller (NegEx-style): a finding counts when a sentence names it, no negation
cue comes before it ("No pleural effusion or pneumothorax." asserts neither) and none follows it
("The effusion has resolved.").
"""

from __future__ import annotations

import re

from .report_text import negation_pattern, report_sentences

# canonical label -> the phrases that name it (datasets.vocabulary names)
FINDING_PHRASES = {
    "cardiomegaly": r"cardiomegaly|enlarged (?:heart|cardiac silhouette)|heart is enlarged|cardiac enlargement",
    "pleural_effusion": r"effusions?",
    "pneumothorax": r"pneumothora(?:x|ces)",
    "nodule": r"nodules?|nodular opacit(?:y|ies)",
    "consolidation": r"consolidation|airspace (?:opacity|disease)",
    "atelectasis": r"atelectasis|atelectatic",
    "edema": r"(?:pulmonary )?o?edema|vascular congestion",
    "fracture": r"fractures?",
}
_PHRASES = {label: re.compile(rf"\b(?:{pattern})\b", re.IGNORECASE) for label, pattern in FINDING_PHRASES.items()}
_NEGATION = negation_pattern()
_NEGATED_AFTER = re.compile(r"\b(?:(?:is|are|was|were) (?:not seen|not present|not identified|absent)|"
                            r"(?:has|have) resolved)\b", re.IGNORECASE)


def mine_labels(text: str) -> set[str]:
    """Labels the text asserts: named in a sentence and negated neither before nor after the name."""
    found: set[str] = set()
    sentences = [sentence for _, sentence in report_sentences(text)] or [text]
    for sentence in sentences:
        for label, phrase in _PHRASES.items():
            match = phrase.search(sentence)
            if match and not _NEGATION.search(sentence[:match.start()]) \
                    and not _NEGATED_AFTER.search(sentence[match.end():]):
                found.add(label)
    return found


# statements that rule a label out without naming it
RULED_OUT_PHRASES = {
    "cardiomegaly": r"heart (?:is )?normal|normal (?:heart|cardiac)|heart size (?:is )?(?:normal|within normal)|"
                    r"cardiac silhouette (?:is )?(?:normal|within normal)|heart is not enlarged",
}
_RULED_OUT = {label: re.compile(rf"\b(?:{pattern})", re.IGNORECASE) for label, pattern in RULED_OUT_PHRASES.items()}


def mentioned_labels(text: str) -> set[str]:
    """Labels on which the text takes a position: named (asserted or negated) or ruled out ("normal heart size")."""
    named = {label for label, phrase in _PHRASES.items() if phrase.search(text or "")}
    return named | {label for label, phrase in _RULED_OUT.items() if phrase.search(text or "")}


def asserts_phrase(text: str, phrase: str) -> bool:
    """Whether a report asserts what `phrase` names: a known finding through its synonyms
    (asserts_phrase(report, "consolidation") is true for "Patchy airspace opacity."), any other phrase
    by its words, with the same negation rules as mine_labels."""
    labels = mine_labels(phrase)
    if labels:
        return bool(mine_labels(text) & labels)
    words = phrase.split()
    if not words:
        return False
    literal = re.compile(r"\b" + r"\s+".join(re.escape(word) for word in words) + r"\b", re.IGNORECASE)
    for sentence in [sentence for _, sentence in report_sentences(text)] or [text]:
        match = literal.search(sentence)
        if match and not _NEGATION.search(sentence[:match.start()]) \
                and not _NEGATED_AFTER.search(sentence[match.end():]):
            return True
    return False
