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


def embedding_text(report: str) -> str:
    """The impression (or conclusion) when the report has one, else the whole report.

    The impression states the positive findings without the negations that fill the findings
    section; a small text tower trained from scratch aligns with it much faster (see
    docs/benchmarks.md). Training and the report index use this same text.
    """
    found = sections(report)
    for name in ("IMPRESSION", "CONCLUSION"):
        if found.get(name):
            return found[name]
    return (report or "").strip()
