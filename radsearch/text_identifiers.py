"""Identifiers in free text (reports, DICOM descriptions) replaced by typed placeholders before storing.

Reports carry names ("discussed with Dr. Jones"), dates, times, phone and pager numbers, record and
accession numbers, e-mail and street addresses, and ages over 89. Each span found becomes
`[NAME]`, `[DATE]`, `[TIME]`, `[PHONE]`, `[ID]`, `[EMAIL]`, `[ADDRESS]` or `[AGE]`; the words around
it stay, so "Dr. [NAME]" still reads as a doctor. Names are found only where the text says a person
is meant (a title, a signature line, a "discussed with" phrase, DICOM's Last^First form): report text
is full of capitalised words that are findings, not people.

Kept here rather than taken from a library: Presidio and Philter find names with a statistical NER
model that would have to be downloaded, and radsearch downloads nothing at run time. The recall and
precision of these rules on planted identifiers are in docs/benchmarks.md (benchmarks/report_identifiers.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

KINDS = ("NAME", "DATE", "TIME", "PHONE", "ID", "EMAIL", "ADDRESS", "AGE")
_MONTH = (r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|"
          r"Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?")
_NAME_WORD = r"(?:[A-Z]'[A-Z][a-z]+|[A-Z][a-z]+(?:[-'][A-Z]?[a-z]+)?|[A-Z]\.|[A-Z]{2,}(?=\b[^a-z]))"
_PERSON = rf"{_NAME_WORD}(?:\s+{_NAME_WORD}){{0,2}}"
_TITLE = r"\b(?i:Drs?|Doctor|Mr|Mrs|Ms|Miss|Prof(?:essor)?|Nurse|Sister)\b\.?\s+"
_TRIGGER = (r"(?i:\b(?:discussed with|d/w|called to|called|paged|notified|informed|communicated (?:to|with)|"
            r"reviewed with|conveyed to|relayed to|spoke with|spoken to|read by|dictated by|reported by|"
            r"signed by|electronically signed by|verified by|transcribed by|attending|resident|radiologist|"
            r"referring physician|referred by|requested by|patient(?: name)?|name|ordered by)\s*:?\s+)")
_NOT_A_NAME = {"The", "This", "That", "These", "There", "Referring", "Attending", "Radiology", "Emergency",
               "Clinical", "Clinician", "Clinicians", "Team", "Physician", "Doctor", "Patient", "Patients",
               "Ward", "Department", "Nurse", "Staff", "Surgery", "Surgeon", "Service", "Findings", "Impression",
               "On", "At", "By", "With", "And", "Or", "Via", "Telephone", "Phone", "Pager", "Report", "His",
               "Her", "Their", "Dr", "Mr", "Mrs", "Ms", "ED", "ICU", "CT", "MRI", "PACS", "AM", "PM", "Today",
               "Yesterday", "Tomorrow", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday",
               "Sunday", "Prior", "Comparison", "No", "A", "An", "It", "In", "Of", "To", "For", "From"}

_PATTERNS: list[tuple[str, re.Pattern]] = [
    ("EMAIL", re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")),
    ("ADDRESS", re.compile(r"\b\d{1,5}\s+(?:[A-Z][a-z]+\s+){1,3}(?:Street|St|Road|Rd|Avenue|Ave|Lane|Ln|Drive|"
                           r"Boulevard|Blvd|Way|Court|Ct|Place|Pl|Close|Crescent|Terrace|Square|Highway|Hwy)\b\.?"
                           r"(?:,?\s+(?:Apt|Apartment|Flat|Unit|Suite)\.?\s*\w+)?")),
    ("ADDRESS", re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s+\d[A-Z]{2}\b")),  # UK postcode
    ("ADDRESS", re.compile(r"\b[A-Z]{2}\s+\d{5}(?:-\d{4})?\b")),  # US state and ZIP
    ("DATE", re.compile(rf"\b\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH},?\s+\d{{2,4}}\b", re.I)),
    ("DATE", re.compile(rf"\b{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?\b", re.I)),
    ("DATE", re.compile(rf"\b{_MONTH}\s+\d{{4}}\b", re.I)),
    ("DATE", re.compile(r"\b\d{4}[-/.]\d{1,2}[-/.]\d{1,2}\b")),
    ("DATE", re.compile(r"\b\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}\b")),
    ("DATE", re.compile(r"\b(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\b")),
    ("DATE", re.compile(r"(?<=\bon )\d{1,2}/\d{1,2}\b")),
    ("TIME", re.compile(r"\b(?:[01]?\d|2[0-3])[:h][0-5]\d(?::[0-5]\d)?(?:\s*(?:[ap]\.?m\.?|hrs|hours)(?![a-z]))?(?!\d)",
                        re.I)),
    ("TIME", re.compile(r"\b(?:[01]\d|2[0-3])[0-5]\d\s*(?:hrs|hours|h)\b", re.I)),
    ("TIME", re.compile(r"\b(?:1[0-2]|0?[1-9])\s*(?:[ap]\.m\.|[ap]m)(?![a-z])", re.I)),
    ("PHONE", re.compile(r"\+\d{1,3}[\s.-]?(?:\(\d{1,5}\)\s?)?\d{2,5}[\s.-]?\d{3,4}(?:[\s.-]?\d{3,6})?\b")),
    ("PHONE", re.compile(r"(?:\(\d{2,5}\)\s?|\b\d{2,5}[\s.-])\d{3,4}[\s.-]\d{3,4}\b")),
    ("PHONE", re.compile(r"\b(?:ext(?:ension)?|x|pager|bleep|beeper|tel|phone)\.?\s*(?:#|no\.?|number)?\s*:?\s*"
                         r"(\d[\d-]{2,})\b", re.I)),
    ("ID", re.compile(r"\b(?:MRN|NHS|SSN|accession|acc|record|case|study|patient|hospital|order|visit|encounter|"
                      r"ID)\s*(?:number|no\.?|num|#|ID)?\s*[:#]?\s*([A-Z]{0,4}[-]?\d[\d-]{3,}[A-Z]?)\b", re.I)),
    ("ID", re.compile(r"\b[A-Z]{1,4}-?\d{6,}\b")),
    ("ID", re.compile(r"\b\d{3}-\d{2}-\d{4}\b")),  # US social security number
    ("ID", re.compile(r"\b\d{7,}\b")),
    ("AGE", re.compile(r"\b(?:9\d|1[0-2]\d)(?=[- ](?:year|yr|y/?o)s?\b)", re.I)),
    ("AGE", re.compile(r"(?<=\baged )(?:9\d|1[0-2]\d)\b", re.I)),
    ("NAME", re.compile(r"(?<=\^)[A-Za-z]+|\b[A-Za-z]+(?=\^[A-Za-z])")),  # DICOM Last^First
    ("NAME", re.compile(rf"{_TITLE}({_PERSON})")),
    ("NAME", re.compile(rf"{_TRIGGER}(?:{_TITLE})?({_PERSON})")),
    ("NAME", re.compile(rf"\b({_PERSON}),\s*(?:MD|M\.D\.|DO|RN|NP|PA-C|FRCR|MBBS|PhD|FRCP)\b")),
    ("NAME", re.compile(r"\b(?:[A-Z]\.\s?){1,2}[A-Z][a-z]{2,}\b")),  # J. Smith, J.R. Smith
]


@dataclass(frozen=True)
class Identifier:
    """A span of report text that identifies someone: where, what kind, and the text itself."""

    start: int
    end: int
    kind: str
    text: str


def find_identifiers(text: str, names: Iterable[str] = ()) -> list[Identifier]:
    """Every identifying span in `text`, longest first where two overlap, in text order.

    names: people known to be connected with the text (the patient and staff named in a DICOM header);
    each of their name parts is found wherever it appears, with or without a cue.
    """
    found: list[Identifier] = []
    patterns = list(_PATTERNS)
    parts = sorted({part for name in names for part in re.split(r"[\^\s,]+", str(name)) if len(part) >= 2},
                   key=len, reverse=True)
    if parts:
        patterns.append(("NAME", re.compile(r"\b(?:" + "|".join(map(re.escape, parts)) + r")\b", re.I)))
    for kind, pattern in patterns:
        for match in pattern.finditer(text or ""):
            group = 1 if pattern.groups and match.group(1) is not None else 0
            start, end = match.span(group)
            span = text[start:end]
            if kind == "NAME":
                start, end, span = _trim_name(text, start, end)
                if not span:
                    continue
            found.append(Identifier(start, end, kind, span))
    chosen: list[Identifier] = []
    for candidate in sorted(found, key=lambda s: (-(s.end - s.start), s.start)):
        if all(candidate.end <= kept.start or candidate.start >= kept.end for kept in chosen):
            chosen.append(candidate)
    return sorted(chosen, key=lambda s: s.start)


def scrub(text: str, names: Iterable[str] = ()) -> str:
    """`text` with every identifier replaced by its placeholder, e.g. "Dr. [NAME] at [TIME]"."""
    out, last = [], 0
    for span in find_identifiers(text, names):
        out.append(text[last:span.start])
        out.append(f"[{span.kind}]")
        last = span.end
    out.append((text or "")[last:])
    return "".join(out)


def _trim_name(text: str, start: int, end: int) -> tuple[int, int, str]:
    """Drop words at either end of a name candidate that are not names ("the", "Radiology", "ED")."""
    words = list(re.finditer(r"\S+", text[start:end]))
    while words and words[0].group().rstrip(".,") in _NOT_A_NAME:
        words.pop(0)
    while words and words[-1].group().rstrip(".,") in _NOT_A_NAME:
        words.pop()
    if not words:
        return start, start, ""
    first, last = start + words[0].start(), start + words[-1].end()
    while last > first and text[last - 1] in ",;:":
        last -= 1
    return first, last, text[first:last]
