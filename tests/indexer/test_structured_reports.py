"""Reports that arrive as DICOM Structured Reports become their study's searchable report."""

from __future__ import annotations

import shutil
from pathlib import Path

import pydicom
import pytest
from sr_documents import basic_text_sr, comprehensive_sr, header, key_object_selection

from radsearch import index, open_library
from radsearch.datasets.dicom_sr import read_sr
from radsearch.errors import UnreadableReport
from radsearch.storage import LibraryStore

EFFUSION = (["Small left pleural effusion.", "No pneumothorax."], ["Left pleural effusion."])


def _studies(tiny_archive: Path, folder: Path, n: int = 2) -> list[list[Path]]:
    """Copy the DICOM images of `n` studies into `folder` (no manifest: what a PACS export looks like)."""
    by_study: dict[str, list[Path]] = {}
    for path in sorted((tiny_archive / "images").rglob("*.dcm")):
        by_study.setdefault(pydicom.dcmread(path, stop_before_pixels=True).StudyInstanceUID, []).append(path)
    copied = []
    for number, paths in enumerate(list(by_study.values())[:n]):
        target = folder / f"study{number}"
        target.mkdir(parents=True)
        copied.append([Path(shutil.copy(path, target / path.name)) for path in paths])
    return copied


def _report_of(library: Path, image_path: Path) -> str | None:
    lib = open_library(library)
    found = [r for r in lib.store.catalog.get(None).values() if r.path == str(image_path.resolve())]
    return found[0].report if found else None


def test_a_basic_text_sr_becomes_its_studys_report(tiny_archive, tiny_model, tmp_path):
    (first, *_), (other, *_) = _studies(tiny_archive, tmp_path / "pacs")
    basic_text_sr(tmp_path / "pacs" / "study0" / "report.dcm", header(first), *EFFUSION)
    summary = index(tmp_path / "pacs", tmp_path / "lib", tiny_model, progress=False)
    assert summary.failed == 0 and summary.structured_reports == 1 and summary.reports_added == 1
    assert "1 DICOM structured reports read" in str(summary)
    report = _report_of(tmp_path / "lib", first)
    assert report == "FINDINGS: Small left pleural effusion. No pneumothorax. IMPRESSION: Left pleural effusion."
    assert _report_of(tmp_path / "lib", other) is None  # the other study has no report
    hits = open_library(tmp_path / "lib").search.sentences("left pleural effusion", k=3)
    assert hits and "effusion" in hits[0].text  # sectioned and embedded like a manifest's report


def test_a_comprehensive_sr_from_highdicom_is_read_too(tiny_archive, tiny_model, tmp_path):
    (first, *_), _ = _studies(tiny_archive, tmp_path / "pacs")
    comprehensive_sr(tmp_path / "pacs" / "sr.dcm", header(first), ["Enlarged cardiac silhouette."], ["Cardiomegaly."])
    index(tmp_path / "pacs", tmp_path / "lib", tiny_model, progress=False)
    assert _report_of(tmp_path / "lib", first) == "FINDINGS: Enlarged cardiac silhouette. IMPRESSION: Cardiomegaly."


def test_the_final_report_wins_over_a_preliminary_one(tiny_archive, tiny_model, tmp_path):
    (first, *_), _ = _studies(tiny_archive, tmp_path / "pacs")
    image = header(first)
    basic_text_sr(tmp_path / "pacs" / "final.dcm", image, [], ["Right lower zone consolidation."],
                  written="20260101100000")
    basic_text_sr(tmp_path / "pacs" / "later-draft.dcm", image, [], ["Possible consolidation."], final=False,
                  written="20260102100000")
    index(tmp_path / "pacs", tmp_path / "lib", tiny_model, progress=False)
    assert _report_of(tmp_path / "lib", first) == "IMPRESSION: Right lower zone consolidation."


def test_a_report_that_arrives_before_or_after_its_images_finds_them(tiny_archive, tiny_model, tmp_path):
    (first, *_), (second, *_) = _studies(tiny_archive, tmp_path / "pacs")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    # images first, report in a later run
    index(tmp_path / "pacs", tmp_path / "lib", tiny_model, progress=False)
    basic_text_sr(tmp_path / "pacs" / "late.dcm", header(first), *EFFUSION)
    later = index(tmp_path / "pacs", tmp_path / "lib", progress=False)
    assert later.added == 0 and later.reports_added == 1
    assert "pleural effusion" in _report_of(tmp_path / "lib", first)
    # a report before its images: kept out (a report needs its study) and said so, then linked next run
    shutil.move(second.parent, inbox / "study1")
    basic_text_sr(tmp_path / "pacs" / "early.dcm", header(inbox / "study1" / second.name), [], ["Cardiomegaly."])
    early = index(tmp_path / "pacs", tmp_path / "lib", progress=False)
    assert early.reports_added == 0
    assert any("no images here yet" in reason for reason in early.skipped)
    shutil.move(inbox / "study1", tmp_path / "pacs" / "study1")
    arrived = index(tmp_path / "pacs", tmp_path / "lib", progress=False)
    assert arrived.added > 0 and arrived.reports_added == 1
    assert _report_of(tmp_path / "lib", tmp_path / "pacs" / "study1" / second.name) == "IMPRESSION: Cardiomegaly."


def test_a_manifest_report_is_not_replaced_by_an_sr(tiny_archive, tiny_model, tmp_path):
    index(tiny_archive, tmp_path / "lib", tiny_model, progress=False)
    first = sorted((tiny_archive / "images").rglob("*.dcm"))[0]
    before = _report_of(tmp_path / "lib", first)
    folder = tmp_path / "more"
    folder.mkdir()
    basic_text_sr(folder / "sr.dcm", header(first), [], ["Something else entirely."])
    summary = index(folder, tmp_path / "lib", progress=False)
    # the manifest's report is the user's declared truth
    assert summary.reports_added == 0 and _report_of(tmp_path / "lib", first) == before


def test_a_malformed_sr_is_a_recorded_failure_and_the_images_are_kept(tiny_archive, tiny_model, tmp_path):
    (first, *_), _ = _studies(tiny_archive, tmp_path / "pacs")
    path = basic_text_sr(tmp_path / "pacs" / "empty.dcm", header(first), [], [])  # no findings, no impression
    with pytest.raises(UnreadableReport, match="no findings or impression"):
        read_sr(path)
    summary = index(tmp_path / "pacs", tmp_path / "lib", tiny_model, progress=False)
    assert summary.failed == 1 and summary.added > 0 and summary.reports_added == 0
    failures = LibraryStore.open(tmp_path / "lib").catalog.failures()
    assert [f.path.endswith("empty.dcm") for f in failures] == [True]
    assert "malformed structured report" in failures[0].reason


def test_a_key_object_selection_is_skipped_not_failed(tiny_archive, tiny_model, tmp_path):
    (first, *_), _ = _studies(tiny_archive, tmp_path / "pacs")
    key_object_selection(tmp_path / "pacs" / "kos.dcm", header(first))
    summary = index(tmp_path / "pacs", tmp_path / "lib", tiny_model, progress=False)
    assert summary.failed == 0 and summary.reports_added == 0
    assert summary.skipped["DICOM Key Object Selection Document Storage, not an image or a report"] == 1
