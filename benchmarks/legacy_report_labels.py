"""The report labeller radsearch shipped until 2026-12 (hand-written sections, sentence regex, NegEx-style
cues), kept verbatim as the baseline that benchmarks/report_labels.py measures the medspaCy reader against.
Not used by radsearch itself.
"""

from __future__ import annotations

import re

_SECTION = re.compile(r"\b(EXAMINATION|TECHNIQUE|INDICATION|FINDINGS|IMPRESSION|CONCLUSION)\s*:", re.IGNORECASE)
NEGATION_CUES = ("negative for", "absence of", "free of", "rule out", "ruled out", "without", "resolved", "not", "no")
FINDING_SECTIONS = ("FINDINGS", "IMPRESSION", "CONCLUSION", "TEXT")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(\"'])")
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
_NEGATION = re.compile(r"\b(" + "|".join(re.escape(c) for c in NEGATION_CUES) + r")\b", re.IGNORECASE)
_NEGATED_AFTER = re.compile(r"\b(?:(?:is|are|was|were) (?:not seen|not present|not identified|absent)|"
                            r"(?:has|have) resolved)\b", re.IGNORECASE)


def sections(report: str) -> dict[str, str]:
    parts = _SECTION.split(report or "")
    found = {parts[i].upper(): parts[i + 1].strip() for i in range(1, len(parts) - 1, 2)}
    if not found and report and report.strip():
        found["TEXT"] = report.strip()
    return found


def report_sentences(report: str) -> list[str]:
    return [sentence.strip() for name, text in sections(report).items() if name in FINDING_SECTIONS
            for sentence in _SENTENCE_END.split(text) if sentence.strip()]


def mine_labels(text: str) -> set[str]:
    found: set[str] = set()
    for sentence in report_sentences(text) or [text]:
        for label, phrase in _PHRASES.items():
            match = phrase.search(sentence)
            if match and not _NEGATION.search(sentence[:match.start()]) \
                    and not _NEGATED_AFTER.search(sentence[match.end():]):
                found.add(label)
    return found
