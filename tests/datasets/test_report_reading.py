"""Report language, as a radiologist would check it: each phrasing and how it must be read."""

from __future__ import annotations

import pytest

from radsearch.datasets.report_labels import asserts_phrase, mentioned_labels, mine_labels
from radsearch.datasets.report_reading import read_report
from radsearch.datasets.report_text import embedding_text, report_sentences, sections


def reading(text: str) -> list[tuple[str, str, str | None]]:
    return [(f.label, f.status, f.side) for f in read_report(text).findings]


@pytest.mark.parametrize("text, expected", [
    # the effusion persists: "no change" is not a negation
    ("No change in the left pleural effusion.", [("pleural_effusion", "unchanged", "left")]),
    # "but" ends the negation's scope
    ("No pneumothorax, but there is a large left pleural effusion.",
     [("pneumothorax", "absent", None), ("pleural_effusion", "present", "left")]),
    # a hedge is not a finding
    ("Cannot exclude pneumothorax.", [("pneumothorax", "uncertain", None)]),
    ("A small apical pneumothorax cannot be excluded.", [("pneumothorax", "uncertain", None)]),
    ("Possible right lower lobe consolidation.", [("consolidation", "uncertain", "right")]),
    # what has gone is not there
    ("Interval resolution of pneumothorax.", [("pneumothorax", "resolved", None)]),
    ("The right pleural effusion has resolved.", [("pleural_effusion", "resolved", "right")]),
    ("Pneumothorax is no longer seen.", [("pneumothorax", "resolved", None)]),
    # negation covers a list, and the side stays with its finding
    ("No pneumothorax or pleural effusion.", [("pneumothorax", "absent", None), ("pleural_effusion", "absent", None)]),
    ("No left pleural effusion.", [("pleural_effusion", "absent", "left")]),
    ("Left pleural effusion and right pneumothorax.",
     [("pleural_effusion", "present", "left"), ("pneumothorax", "present", "right")]),
    ("Bibasilar atelectasis.", [("atelectasis", "present", "bilateral")]),
    ("Pleural effusion on the right.", [("pleural_effusion", "present", "right")]),
    ("Stable cardiomegaly.", [("cardiomegaly", "unchanged", None)]),
    # an absence stated without a negation word
    ("Heart size is normal.", [("cardiomegaly", "absent", None)]),
])
def test_each_hard_phrasing_is_read_with_its_status_and_side(text, expected):
    assert reading(text) == expected


def test_a_title_does_not_end_a_sentence():
    report = "FINDINGS: Discussed with Dr. Jones at 14:05. A 3.5 cm nodule in the right upper lobe."
    assert report_sentences(report) == [("FINDINGS", "Discussed with Dr. Jones at 14:05."),
                                        ("FINDINGS", "A 3.5 cm nodule in the right upper lobe.")]


def test_an_unknown_header_is_not_glued_onto_the_impression():
    report = ("FINDINGS: Small left effusion. IMPRESSION: Left pleural effusion. "
              "NOTIFICATION: The findings were discussed with Dr. Jones at 14:05.")
    assert embedding_text(report) == "Left pleural effusion."
    assert "Jones" not in " ".join(text for _, text in report_sentences(report))
    unknown = "IMPRESSION: Left pleural effusion. ACCESSION NOTE: called to the ward, read back."
    assert embedding_text(unknown) == "Left pleural effusion." and "OTHER" in sections(unknown)


def test_the_indication_asks_and_the_findings_answer():
    report = "INDICATION: Rule out pneumothorax. FINDINGS: No pneumothorax. IMPRESSION: Normal chest."
    assert mine_labels(report) == set() and mentioned_labels(report) == {"pneumothorax"}
    assert [section for section, _ in report_sentences(report)] == ["FINDINGS", "IMPRESSION"]


def test_labels_count_present_and_unchanged_findings_and_an_uncertain_one_takes_no_position():
    report = "FINDINGS: No change in the left pleural effusion. Cannot exclude pneumothorax. No fracture."
    assert mine_labels(report) == {"pleural_effusion"}
    assert mentioned_labels(report) == {"pleural_effusion", "fracture"}  # pneumothorax: neither yes nor no
    assert read_report(report).positions() == {"pleural_effusion": True, "fracture": False}


def test_a_phrase_outside_the_vocabulary_is_read_with_the_same_modifiers():
    assert asserts_phrase("FINDINGS: Small hiatal hernia.", "hiatal hernia")
    assert not asserts_phrase("FINDINGS: No hiatal hernia.", "hiatal hernia")
    assert not asserts_phrase("FINDINGS: Possible hiatal hernia.", "hiatal hernia")
    assert asserts_phrase("IMPRESSION: Patchy airspace opacity.", "consolidation")  # a finding by its synonyms


def test_a_sentence_calling_the_study_normal_is_told_apart_from_one_naming_a_finding():
    report = ("FINDINGS: No acute fracture. Heart size is normal. "
              "IMPRESSION: No evidence of active disease. Normal left knee radiograph.")
    assert read_report(report).normal == ("No evidence of active disease.", "Normal left knee radiograph.")
    assert read_report("IMPRESSION: Stable chest. Lungs are clear.").normal == ()
