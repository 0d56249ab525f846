"""Report drafts: consensus sentences with citations, contradictions settled, disagreement said aloud."""

from __future__ import annotations

import numpy as np
from click.testing import CliRunner

from radsearch.cli import main
from radsearch.datasets import read_manifest, report_sentences
from radsearch.search.draft import Case, draft_from_cases


def _case(key: str, score: float, report: str) -> Case:
    """A neighbour whose sentences all get different random embeddings (no accidental duplicates)."""
    rng = np.random.default_rng(abs(hash(report)) % 2**32)
    sentences = []
    for section, text in report_sentences(report):
        v = rng.standard_normal(16).astype(np.float32)
        sentences.append((section, text, v / np.linalg.norm(v)))
    return Case(key, score, report, sentences)


EFFUSION = "FINDINGS: Small left pleural effusion. No pneumothorax. IMPRESSION: Left pleural effusion."
EFFUSION_2 = ("FINDINGS: There is a small left pleural effusion. There is no pneumothorax. "
              "IMPRESSION: Left pleural effusion.")
NORMAL = "FINDINGS: No pleural effusion. No pneumothorax. IMPRESSION: Normal chest radiograph."


def test_the_majority_wins_contradictions_and_each_sentence_cites_its_cases():
    draft = draft_from_cases([_case("S1", 0.9, EFFUSION), _case("S2", 0.85, NORMAL), _case("S3", 0.8, EFFUSION_2)])
    texts = [s.text for s in draft.sentences]
    assert "No pleural effusion." not in texts  # contradicts the weighted majority
    assert [s.section for s in draft.sentences] == sorted((s.section for s in draft.sentences),
                                                          key=["FINDINGS", "IMPRESSION"].index)
    impression = next(s for s in draft.sentences if s.section == "IMPRESSION")
    assert impression.text == "Left pleural effusion." and impression.cases == ["S1", "S3"]
    # two phrasings of one finding become one sentence, cited by every case that says it
    pneumothorax = [s for s in draft.sentences if "pneumothorax" in s.text]
    assert len(pneumothorax) == 1 and pneumothorax[0].cases == ["S1", "S2", "S3"]
    assert not draft.uncertain and "[S1, S3]" in draft.text and draft.text.startswith("FINDINGS:")


def test_an_even_split_is_reported_not_guessed():
    draft = draft_from_cases([_case("S1", 0.9, EFFUSION), _case("S2", 0.9, NORMAL)])
    assert draft.uncertain and draft.text.startswith("NO DRAFT")
    assert not any("effusion" in s.text.lower() for s in draft.sentences)  # neither side is asserted
    assert any("pleural effusion" in d for d in draft.disputed)


def test_left_and_right_are_not_merged():
    right = EFFUSION.replace("left", "right").replace("Left", "Right")
    draft = draft_from_cases([_case("S1", 0.9, EFFUSION), _case("S2", 0.9, right), _case("S3", 0.9, right)])
    impressions = [s.text for s in draft.sentences if s.section == "IMPRESSION"]
    assert impressions == ["Right pleural effusion."]


def test_a_site_generator_receives_the_cases_and_the_consensus():
    seen = {}

    def generator(query, cases, consensus):  # noqa: ANN001, ANN202
        seen.update(query=query, keys=[c.study_key for c in cases], consensus=consensus.sentences)
        return "LLM draft"

    draft = draft_from_cases([_case("S1", 0.9, EFFUSION)], generator, query="q.dcm")
    assert draft.text == "LLM draft" and seen["keys"] == ["S1"] and seen["consensus"]


def test_library_draft_cites_other_patients_studies(tiny_library, tiny_archive):
    from radsearch import open_library
    lib = open_library(tiny_library)
    record = read_manifest(tiny_archive / "manifest.csv")[0]
    draft = lib.search.draft(record.path, k=5)
    assert 0 < len(draft.cases) <= 5 and all(case.report for case in draft.cases)
    own = {r.study_id for r in read_manifest(tiny_archive / "manifest.csv") if r.patient_id == record.patient_id}
    assert not {case.study_key for case in draft.cases} & own
    cited = {key for sentence in draft.sentences for key in sentence.cases}
    assert cited <= {case.study_key for case in draft.cases}
    result = CliRunner().invoke(main, ["draft", "--library", str(tiny_library), "--image", record.path, "-k", "5"])
    assert result.exit_code == 0 and result.output.split(":")[0] in {"FINDINGS", "IMPRESSION", "NO DRAFT"}


def test_a_finding_placed_on_both_sides_is_kept_with_its_side_marked_uncertain():
    right = EFFUSION.replace("left", "right").replace("Left", "Right")
    draft = draft_from_cases([_case("S1", 0.9, EFFUSION), _case("S2", 0.9, right), _case("S3", 0.5, EFFUSION)])
    impression = [s for s in draft.sentences if s.section == "IMPRESSION"]
    assert len(impression) == 1 and impression[0].cases == ["S1", "S2", "S3"]
    assert impression[0].text.startswith("Pleural effusion (side uncertain:")
    assert "left" not in impression[0].text.split("(")[0].lower() and not draft.uncertain


def test_a_finding_is_stated_once_and_each_case_counted_once_per_side():
    """The demo once drafted "Small pleural effusion (side uncertain: 4 right, 3 left, 1 left)" and then a
    second effusion sentence: two wordings of a left effusion were counted apart, and an unsided
    sentence about the same effusion survived beside the merged one."""
    left_a = "FINDINGS: Small left pleural effusion. IMPRESSION: Left pleural effusion."
    left_b = "FINDINGS: There is a small left-sided pleural effusion. IMPRESSION: Small left effusion."
    right = "FINDINGS: Small right pleural effusion. IMPRESSION: Right pleural effusion."
    unsided = "FINDINGS: Small pleural effusion. IMPRESSION: Pleural effusion."
    cases = [_case("R1", 0.9, right), _case("R2", 0.9, right), _case("L1", 0.9, left_a), _case("L2", 0.9, left_b),
             _case("U1", 0.9, unsided)]
    draft = draft_from_cases(cases)
    for section in ("FINDINGS", "IMPRESSION"):
        about = [s for s in draft.sentences if s.section == section and "effusion" in s.text.lower()]
        assert len(about) == 1, about
        assert "(side uncertain: 2 left, 2 right, 1 side not stated)" in about[0].text
        assert about[0].cases == ["L1", "L2", "R1", "R2", "U1"]


def test_an_uncertain_mention_is_no_vote_and_an_unchanged_finding_is_one():
    present = "FINDINGS: Small left pleural effusion. IMPRESSION: Left pleural effusion."
    unchanged = "FINDINGS: No change in the left pleural effusion. IMPRESSION: Left pleural effusion."
    hedged = "FINDINGS: Cannot exclude a small left pleural effusion. IMPRESSION: Left pleural effusion."
    draft = draft_from_cases([_case("S1", 0.9, present), _case("S2", 0.9, unchanged), _case("S3", 0.9, hedged)])
    assert not draft.disputed and not draft.uncertain
    impression = [s for s in draft.sentences if s.section == "IMPRESSION"]
    assert [s.text for s in impression] == ["Left pleural effusion."]
    assert not any(s.text.startswith("No ") for s in draft.sentences)


def test_the_ways_of_calling_a_study_normal_are_one_statement():
    # three wordings of "nothing found": together a clear majority, so the draft is not withheld
    cases = [_case("a", 0.9, "IMPRESSION: Normal chest radiograph."),
             _case("b", 0.8, "IMPRESSION: No acute cardiopulmonary process."),
             _case("c", 0.7, "IMPRESSION: No acute cardiopulmonary abnormality."),
             _case("d", 0.6, "IMPRESSION: Left pneumothorax.")]
    draft = draft_from_cases(cases)
    assert not draft.uncertain
    impression = [s for s in draft.sentences if s.section == "IMPRESSION"]
    assert [s.text for s in impression] == ["Normal chest radiograph."]
    assert impression[0].cases == ["a", "b", "c"]
