"""Real archives behave differently from the demo: say so instead of answering wrongly. A query whose
anatomy differs from its neighbours' is flagged, drafts never borrow another body part's report, and an
empty answer says why."""

from __future__ import annotations

from dataclasses import replace

import pytest
from click.testing import CliRunner

from radsearch import index, open_library
from radsearch.cli import main
from radsearch.datasets import read_manifest, write_manifest
from radsearch.search.context import UsualRange, region, similarity_note


def test_body_parts_are_compared_by_region_whatever_grain_names_them():
    assert region("KNEE") == region("LEG") == region("LOWER_LIMB") == "lower limb"
    assert region("chest") == region("THORAX") and region("HAND") != region("CHEST")
    assert region("") is None and region("PAW") == "paw"  # unknown names compare as themselves


def test_a_query_far_below_the_librarys_usual_best_match_is_called_unusual():
    usual = UsualRange(low=0.8, median=0.93, sampled=100)
    assert "unlike anything here" in similarity_note(0.41, usual)
    assert similarity_note(0.85, usual) is None


@pytest.fixture()
def limbs_only(tiny_archive, tiny_model, tmp_path):
    """A library of the tiny archive's hands, knees and pelvises with their reports: no chest at all."""
    records = [r for r in read_manifest(tiny_archive / "manifest.csv") if r.body_part != "CHEST"]
    manifest = write_manifest(records, tmp_path / "limbs.csv")
    index(manifest, tmp_path / "lib", tiny_model, progress=False)
    chest = next(r.path for r in read_manifest(tiny_archive / "manifest.csv")
                 if r.body_part == "CHEST" and r.path.endswith(".dcm"))
    return tmp_path / "lib", chest


def test_a_chest_query_answered_with_limb_films_is_flagged_and_gets_no_limb_draft(limbs_only):
    library, chest = limbs_only
    lib = open_library(library)
    hits = lib.search.image(chest, k=5)
    assert hits and any("header says chest" in note for note in hits.notes)
    draft = lib.search.draft(chest, k=5)
    assert draft.abstained and "query's anatomy (chest, from its header)" in draft.abstained
    assert draft.text.startswith("NO DRAFT:") and not draft.sentences


def test_the_cli_prints_the_flag_and_the_drafts_reason(limbs_only):
    library, chest = limbs_only
    searched = CliRunner().invoke(main, ["search", "--library", str(library), "--image", chest, "-k", "3"])
    assert searched.exit_code == 0 and "note: the query's header says chest" in searched.output
    drafted = CliRunner().invoke(main, ["draft", "--library", str(library), "--image", chest])
    assert drafted.exit_code == 0 and "NO DRAFT" in drafted.output and "another body part" in drafted.output


@pytest.fixture()
def unreported(tiny_archive, tiny_model, tmp_path):
    records = [replace(r, report="") for r in read_manifest(tiny_archive / "manifest.csv")]
    manifest = write_manifest(records, tmp_path / "no-reports.csv")
    index(manifest, tmp_path / "lib", tiny_model, progress=False)
    return tmp_path / "lib", records[0].path


def test_a_library_without_reports_says_so_for_report_search_and_drafts(unreported):
    library, image = unreported
    lib = open_library(library)
    for results in ("reports", "sentences"):
        hits = lib.search("pleural effusion", 5, results=results)
        assert not hits and "holds no reports" in hits.notes[0]
    assert "holds no reports" in lib.search.draft(image).abstained
    result = CliRunner().invoke(main, ["search", "--library", str(library), "--text", "effusion", "--sentences"])
    assert result.exit_code == 0 and "note: this library holds no reports" in result.output


def test_a_filter_that_matches_nothing_says_so(unreported):
    library, _ = unreported
    hits = open_library(library).search.text("pleural effusion", k=5, where={"body_part": "SKULL"})
    assert not hits and "matches no image" in hits.notes[0]
