"""Deleting from the archive, `radsearch remove` and `radsearch rebuild`: rows, vectors and thumbnails agree."""

from __future__ import annotations

import shutil

import faiss
from click.testing import CliRunner

from radsearch import index, open_library
from radsearch.cli import main
from radsearch.datasets import read_manifest, report_sentences
from radsearch.storage import LibraryStore


def _consistent(library) -> LibraryStore:
    store = LibraryStore.open(library)
    for kind in ("images", "reports", "sentences"):
        assert sorted(store.vectors(kind).ids()) == sorted(store.catalog.ids(kind)), kind
    thumbs = {int(p.stem) for p in store.paths.thumbs.glob("*.png")}
    assert thumbs == set(store.catalog.ids("images").tolist())
    return store


def test_files_deleted_from_the_archive_leave_the_library_on_reindex(tiny_archive, tiny_model, tmp_path):
    archive = tmp_path / "archive"
    shutil.copytree(tiny_archive, archive)
    index(archive, tmp_path / "lib", tiny_model, progress=False)
    before = LibraryStore.open(tmp_path / "lib").counts()
    study, report = next((r.study_id, r.report) for r in read_manifest(archive / "manifest.csv") if r.report)
    doomed = [r.path for r in read_manifest(archive / "manifest.csv") if r.study_id == study]
    for path in doomed:
        (archive / path).unlink()
    summary = index(archive, tmp_path / "lib", progress=False)
    assert summary.removed == len(doomed) and f"{len(doomed)} removed" in str(summary)
    store = _consistent(tmp_path / "lib")
    assert store.counts() == {"images": before["images"] - len(doomed), "reports": before["reports"] - 1,
                              "sentences": before["sentences"] - len(report_sentences(report))}
    hits = open_library(tmp_path / "lib").search.text("chest", k=100)
    assert not {h.path for h in hits} & {str(archive / p) for p in doomed}


def test_remove_a_folder_then_reindex_brings_it_back(tiny_archive, tiny_model, tmp_path):
    index(tiny_archive, tmp_path / "lib", tiny_model, progress=False)
    n = LibraryStore.open(tmp_path / "lib").counts()["images"]
    patient = sorted((tiny_archive / "images").iterdir())[0]
    files = [p for p in patient.rglob("*") if p.is_file()]
    result = CliRunner().invoke(main, ["remove", "--library", str(tmp_path / "lib"), str(patient)])
    assert result.exit_code == 0 and f"removed {len(files)} images" in result.output, result.output
    assert _consistent(tmp_path / "lib").counts()["images"] == n - len(files)
    assert index(tiny_archive, tmp_path / "lib", progress=False).added == len(files)
    assert _consistent(tmp_path / "lib").counts()["images"] == n


def test_remove_missing_and_nothing_to_remove(tiny_archive, tiny_model, tmp_path):
    index(tiny_archive, tmp_path / "lib", tiny_model, progress=False)
    assert open_library(tmp_path / "lib").remove(missing=True) == {"images": 0, "reports": 0, "studies": 0}
    result = CliRunner().invoke(main, ["remove", "--library", str(tmp_path / "lib")])
    assert result.exit_code != 0 and "--missing" in result.output


def test_rebuild_recreates_the_indexes_from_stored_embeddings(tiny_library, tiny_archive, tmp_path):
    library = tmp_path / "lib"
    shutil.copytree(tiny_library, library)
    before = [(h.id, round(h.score, 5)) for h in open_library(library).search.text("pleural effusion", k=5)]
    for path in (library / "vectors").glob("*.faiss"):
        path.write_bytes(b"garbage")  # damaged beyond repair
    result = CliRunner().invoke(main, ["rebuild", "--library", str(library)])
    assert result.exit_code == 0 and "images: " in result.output, result.output
    counts = LibraryStore.open(library).counts()
    for kind in ("images", "reports", "sentences"):  # the files themselves are whole again, before any open re-syncs
        assert faiss.read_index(str(library / "vectors" / f"{kind}.faiss")).ntotal == counts[kind]
    after = [(h.id, round(h.score, 5)) for h in open_library(library).search.text("pleural effusion", k=5)]
    assert after == before
