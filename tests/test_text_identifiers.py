"""Report text loses who, when and where before it is stored: a privacy officer's checklist."""

from __future__ import annotations

import pytest

from radsearch.text_identifiers import find_identifiers, scrub

CASES = [  # (report text, identifying parts that must go, words that must stay)
    ("NOTIFICATION: Findings discussed with Dr. Jones at 14:05 on 03/14/2024 by telephone.",
     ["Jones", "14:05", "03/14/2024"], ["NOTIFICATION", "Findings discussed with Dr.", "by telephone"]),
    ("Comparison: chest radiograph dated January 5, 2024. MRN: 12345678. Accession # ACC-88410277.",
     ["January 5, 2024", "12345678", "ACC-88410277"], ["Comparison: chest radiograph dated"]),
    ("Electronically signed by Sarah O'Neil, MD on 2024-01-05 09:30.", ["Sarah", "O'Neil", "2024-01-05", "09:30"],
     ["Electronically signed by", "MD"]),
    ("Call pager 4-5678 or 555-123-4567 or +44 7700 900461.", ["4-5678", "555-123-4567", "7700 900461"], ["Call"]),
    ("93-year-old woman after a fall at 12 Main St. E-mail j.doe@example.org.",
     ["93", "12 Main St", "j.doe@example.org"], ["year-old woman after a fall"]),
    ("Findings were discussed with Jane Smith, RN, at 2 pm.", ["Jane Smith", "2 pm"], ["discussed with", "RN"]),
    ("Reviewed with the attending radiologist Dr. Patel.", ["Patel"], ["Reviewed with the attending radiologist"]),
    ("Patient: DOE^JANE.", ["DOE", "JANE"], ["Patient"]),
]
CLINICAL = [  # nothing here identifies anyone; every word must survive
    "A 4.5 cm mass in the right upper lobe. T12 compression fracture. Hodgkin lymphoma, Parkinson disease.",
    "The referring physician was notified. Results were communicated to the ED team.",
    "PA and lateral views of the chest. No pneumothorax. Small left pleural effusion, unchanged since 2 views.",
    "Interval increase of a 12 mm nodule; 3/4 of the lung is aerated. Heart size 15.2 cm.",
]


@pytest.mark.parametrize("text,identifying,kept", CASES, ids=[c[0][:30] for c in CASES])
def test_identifiers_become_placeholders_and_the_sentence_still_reads(text, identifying, kept):
    cleaned = scrub(text)
    for part in identifying:
        assert part not in cleaned, f"{part!r} survived: {cleaned}"
    for part in kept:
        assert part in cleaned, f"{part!r} was lost: {cleaned}"
    assert "[" in cleaned


def test_placeholders_are_typed():
    kinds = {span.kind for span in find_identifiers(CASES[0][0] + " " + CASES[3][0] + " " + CASES[1][0])}
    assert {"NAME", "TIME", "DATE", "PHONE", "ID"} <= kinds
    assert scrub("Discussed with Dr. Jones at 14:05.") == "Discussed with Dr. [NAME] at [TIME]."


@pytest.mark.parametrize("text", CLINICAL, ids=[t[:30] for t in CLINICAL])
def test_clinical_language_is_left_alone(text):
    assert scrub(text) == text


def test_names_known_from_the_header_are_found_without_a_cue():
    assert scrub("Chest for Jane Doe", names=["Doe^Jane"]) == "Chest for [NAME] [NAME]"
