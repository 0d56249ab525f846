"""Reports that arrive as DICOM Structured Reports: Basic Text, Enhanced and Comprehensive SR.

A diagnostic imaging report in SR form (DICOM PS3.16 TID 2000) is a tree: a root container whose
child containers name the sections ("Findings", "Impression", ...) and hold TEXT (or CODE) items.
This module turns such a document into the sectioned plain text the rest of radsearch reads
("FINDINGS: ... IMPRESSION: ..."), keyed by the Study Instance UID its images share.

Why walk the tree here: highdicom models measurement templates (TID 1500) but not TID 2000's free
text, and pydicom gives the content items as plain datasets; the walk is twenty lines.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.uid import (
    BasicTextSRStorage,
    Comprehensive3DSRStorage,
    ComprehensiveSRStorage,
    EnhancedSRStorage,
    ExtensibleSRStorage,
)

from ..errors import UnreadableReport

# the SR storage classes that carry a reader's report; dose reports, CAD results and key object
# selections are structured documents too, but not a report of what the image shows
REPORT_CLASSES = {BasicTextSRStorage: "Basic Text SR", EnhancedSRStorage: "Enhanced SR",
                  ComprehensiveSRStorage: "Comprehensive SR", Comprehensive3DSRStorage: "Comprehensive 3D SR",
                  ExtensibleSRStorage: "Extensible SR"}
# a section container's concept name (its code meaning, lower case) -> the heading report_text reads
_HEADINGS = (("impression", "IMPRESSION"), ("conclusion", "CONCLUSION"), ("finding", "FINDINGS"),
             ("history", "INDICATION"), ("indication", "INDICATION"), ("request", "INDICATION"),
             ("reason", "INDICATION"), ("procedure", "TECHNIQUE"), ("technique", "TECHNIQUE"))
_ORDER = ("EXAMINATION", "INDICATION", "TECHNIQUE", "FINDINGS", "IMPRESSION", "CONCLUSION")


@dataclass(frozen=True)
class SRReport:
    """The report one SR document states about one study."""

    study_uid: str
    sop_uid: str
    text: str  # "FINDINGS: ... IMPRESSION: ..." (datasets.report_text reads it)
    kind: str  # "Basic Text SR", ...
    final: bool  # verified and complete: preferred over a preliminary or partial document
    written: str  # content date and time (YYYYMMDDHHMMSS...), to prefer the latest amendment

    def rank(self) -> tuple[bool, str]:
        """Which of a study's documents is its report: final over preliminary, then the latest."""
        return self.final, self.written


def document_kind(ds: Dataset) -> str | None:
    """What a DICOM object without pixels is: a report class's name, another document's SOP class
    name ("Key Object Selection Document"), or None when it is not a structured document at all."""
    uid = ds.get("SOPClassUID")
    if uid in REPORT_CLASSES:
        return REPORT_CLASSES[uid]
    if str(ds.get("Modality", "")).upper() in ("SR", "KO", "PR") or "ContentSequence" in ds:
        return getattr(uid, "name", None) or str(uid or "a structured document")
    return None


def read_sr(source: str | Path | Dataset, name: str | None = None) -> SRReport:
    """The report in a Basic Text, Enhanced or Comprehensive SR; UnreadableReport when it holds none."""
    label = name or str(source if not isinstance(source, Dataset) else source.get("SOPInstanceUID", "SR"))
    try:
        ds = source if isinstance(source, Dataset) else pydicom.dcmread(source)
    except (InvalidDicomError, OSError, ValueError, EOFError) as e:
        raise UnreadableReport(label, f"not a readable DICOM file ({e})") from e
    kind = REPORT_CLASSES.get(ds.get("SOPClassUID"))
    if kind is None:
        raise UnreadableReport(label, f"not a report document ({document_kind(ds) or 'no SR content'})")
    study_uid = str(ds.get("StudyInstanceUID", "") or "").strip()
    if not study_uid:
        raise UnreadableReport(label, "malformed structured report: no Study Instance UID to link it to its images")
    try:
        sections = _sections(ds)
    except (AttributeError, KeyError, TypeError, ValueError) as e:
        raise UnreadableReport(label, f"malformed structured report: its content tree cannot be read ({e})") from e
    text = " ".join(f"{heading}: {' '.join(sections[heading])}" for heading in _ORDER if sections.get(heading))
    if not text:
        raise UnreadableReport(label, "malformed structured report: no findings or impression text in its content")
    final = (str(ds.get("VerificationFlag", "")).upper() == "VERIFIED"
             and str(ds.get("CompletionFlag", "")).upper() == "COMPLETE")
    written = f"{ds.get('ContentDate', '') or ''}{ds.get('ContentTime', '') or ''}"
    return SRReport(study_uid, str(ds.get("SOPInstanceUID", "")), text, kind, final, written)


def _sections(ds: Dataset) -> dict[str, list[str]]:
    """Heading -> sentences, from the root container's content in document order (its title, e.g.
    "Imaging report", names the document, not what was seen, and is left out)."""
    found: dict[str, list[str]] = {}
    for item in ds.get("ContentSequence", []):
        _collect(item, _heading(item) or "FINDINGS", found)
    return found


def _collect(item: Dataset, heading: str, found: dict[str, list[str]]) -> None:
    """Add an item's text to `heading` (a container's own heading replaces its parent's)."""
    kind = str(item.get("ValueType", "")).upper()
    if kind == "CONTAINER":
        for child in item.get("ContentSequence", []):
            _collect(child, _heading(child) or _heading(item) or heading, found)
    elif kind == "TEXT" and str(item.get("TextValue", "")).strip():
        found.setdefault(heading, []).append(_sentence(str(item.TextValue)))
    elif kind == "CODE" and item.get("ConceptCodeSequence"):
        value = str(item.ConceptCodeSequence[0].get("CodeMeaning", "")).strip()
        if value:
            found.setdefault(heading, []).append(_sentence(value))


def _heading(item: Dataset) -> str | None:
    meaning = _meaning(item).lower()
    return next((heading for word, heading in _HEADINGS if word in meaning), None)


def _meaning(item: Dataset) -> str:
    codes = item.get("ConceptNameCodeSequence") or []
    return str(codes[0].get("CodeMeaning", "")).strip() if codes else ""


def _sentence(text: str) -> str:
    text = " ".join(text.split())
    return text if text[-1:] in ".!?" else f"{text}."
