"""What a result card says at a glance: the findings with their side, the sentence that matched."""

from __future__ import annotations

from radsearch.library import Library
from radsearch.search import Hit
from radsearch.ui.cards import finding_chips, matched_sentence, query_sides


def card_chips(report: str | None, query: str, labels: tuple[str, ...] = ()) -> str:
    hit = Hit(id=1, score=0.9, path="x.dcm", study_key="S1", report=report, labels=list(labels))
    return finding_chips(Library, hit, query_sides(Library, query))


def test_a_finding_on_the_other_side_than_the_query_asks_is_flagged():
    chips = card_chips("FINDINGS: Right pleural effusion. No pneumothorax. IMPRESSION: Right pleural effusion.",
                       "left pleural effusion")
    assert ":orange-badge[⚠ pleural effusion · right ≠ left]" in chips
    assert ":gray-badge[no pneumothorax]" in chips
    same = card_chips("IMPRESSION: Left pleural effusion.", "left pleural effusion")
    assert same == ":red-badge[pleural effusion · left]"  # the side asked for: no warning, and no sideless twin


def test_what_a_report_rules_out_is_never_shown_beside_what_it_states():
    chips = card_chips("FINDINGS: No effusion on the right. IMPRESSION: Left pleural effusion.", "effusion")
    assert "pleural effusion · left" in chips and "no pleural effusion" not in chips


def test_a_case_without_a_report_shows_its_labels_and_a_normal_report_says_so():
    assert card_chips(None, "fracture", ("fracture",)) == ":blue-badge[fracture]"
    assert card_chips("IMPRESSION: No acute cardiopulmonary abnormality.", "chest") == ":green-badge[normal study]"


def test_the_matched_sentence_shows_the_query_words_and_its_negations():
    shown = matched_sentence("No pleural effusion.", "left pleural effusion")
    assert shown == ":orange[**No**] **pleural** **effusion**\\."
