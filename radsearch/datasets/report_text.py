"""Report sections and sentences: which part of a report the text tower is trained on and reports are indexed by.

Read by the medspaCy pipeline of `report_reading.py` (sections by header, a clinical sentence splitter).
"""

from __future__ import annotations

from .report_reading import read_report
from .report_rules import FINDING_SECTIONS

REPORT_SECTIONS = ("impression", "findings+impression")
__all__ = ["FINDING_SECTIONS", "REPORT_SECTIONS", "embedding_text", "report_sentences", "sections"]


def sections(report: str) -> dict[str, str]:
    """Canonical section name (FINDINGS, IMPRESSION, ..., OTHER for an unknown header) -> its text;
    a report without headers is one TEXT section. A conclusion or opinion is the IMPRESSION."""
    return dict(read_report(report).sections)


def report_sentences(report: str) -> list[tuple[str, str]]:
    """(section, sentence) for each sentence of the findings and impression, in report order.

    Examination, technique, indication, comparison, notification ("discussed with Dr. Jones") and
    unknown sections say what was asked or done, not what was seen, so they are left out of the
    sentence index.
    """
    return list(read_report(report).sentences)


def embedding_text(report: str, use: str = "impression") -> str:
    """The part of a report the text tower learns and the report index embeds.

    use="impression": the impression (or conclusion). It states the positive findings without the
    negations that fill the findings section; a small text tower trained from scratch aligns with
    it much faster (see docs/benchmarks.md). use="findings+impression": both sections, findings
    first, as ConVIRT and CLIP-style radiology models train; worth it with a pretrained text tower.
    Either way a report without those sections is used whole, and a section radsearch does not know
    ("NOTIFICATION: ...") is never glued onto them. The model directory records the choice
    (radsearch.json), so training, indexing and evaluation use the same text.
    """
    if use not in REPORT_SECTIONS:
        raise ValueError(f"unknown report sections {use!r}; choose one of {', '.join(REPORT_SECTIONS)}")
    found = sections(report)
    parts = [found.get("FINDINGS", ""), found.get("IMPRESSION", "")] if use == "findings+impression" \
        else [found.get("IMPRESSION", "")]
    text = " ".join(part for part in parts if part)
    return text or found.get("TEXT", "") or (report or "").strip()
