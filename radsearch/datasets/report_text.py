"""Report sections: which part of a report the text tower is trained on and reports are indexed by."""

from __future__ import annotations

import re

_SECTION = re.compile(r"\b(EXAMINATION|TECHNIQUE|INDICATION|FINDINGS|IMPRESSION|CONCLUSION)\s*:", re.IGNORECASE)


def sections(report: str) -> dict[str, str]:
    """Split 'FINDINGS: ... IMPRESSION: ...' into upper-cased section names and their text."""
    parts = _SECTION.split(report or "")
    found = {parts[i].upper(): parts[i + 1].strip() for i in range(1, len(parts) - 1, 2)}
    if not found and report and report.strip():
        found["TEXT"] = report.strip()
    return found


REPORT_SECTIONS = ("impression", "findings+impression")
# words that negate the finding after them, in reports and queries alike; longest first so a regex
# alternation prefers "negative for" over "no"
NEGATION_CUES = ("negative for", "absence of", "free of", "rule out", "ruled out", "without", "resolved", "not", "no")


def negation_pattern(*extra: str) -> re.Pattern:
    """A case-insensitive whole-word regex for NEGATION_CUES plus `extra` cues (longest tried first)."""
    cues = sorted({*NEGATION_CUES, *extra}, key=len, reverse=True)
    return re.compile(r"\b(" + "|".join(re.escape(cue) for cue in cues) + r")\b", re.IGNORECASE)
FINDING_SECTIONS = ("FINDINGS", "IMPRESSION", "CONCLUSION", "TEXT")  # what a report says about the image
# a sentence ends at . ! or ? followed by a capital or digit: "3.5 cm" and "e.g. a" stay whole
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(\"'])")


def report_sentences(report: str) -> list[tuple[str, str]]:
    """(section, sentence) for each sentence of the findings and impression, in report order.

    Examination, technique and indication say what was asked, not what was seen, so they are left
    out of the sentence index.
    """
    return [(name, sentence.strip()) for name, text in sections(report).items() if name in FINDING_SECTIONS
            for sentence in _SENTENCE_END.split(text) if sentence.strip()]


def embedding_text(report: str, use: str = "impression") -> str:
    """The part of a report the text tower learns and the report index embeds.

    use="impression": the impression (or conclusion). It states the positive findings without the
    negations that fill the findings section; a small text tower trained from scratch aligns with
    it much faster (see docs/benchmarks.md). use="findings+impression": both sections, findings
    first, as ConVIRT and CLIP-style radiology models train; worth it with a pretrained text tower.
    Either way a report without those sections is used whole. The model directory records the
    choice (radsearch.json), so training, indexing and evaluation use the same text.
    """
    if use not in REPORT_SECTIONS:
        raise ValueError(f"unknown report sections {use!r}; choose one of {', '.join(REPORT_SECTIONS)}")
    found = sections(report)
    impression = found.get("IMPRESSION") or found.get("CONCLUSION") or ""
    parts = [found.get("FINDINGS", ""), impression] if use == "findings+impression" else [impression]
    text = " ".join(part for part in parts if part)
    return text or (report or "").strip()
