"""The indexer: rows and vectors together, nothing twice, unreadable files recorded, FAISS derivable."""

from __future__ import annotations

import shutil

import numpy as np
import pydicom
import pytest

from radsearch import index, open_library
from radsearch.config import FORMAT_VERSION
from radsearch.datasets import read_manifest
from radsearch.errors import LibraryMismatch, ModelDirError
from radsearch.indexer import scan
from radsearch.models import RadsearchModel
from radsearch.storage import LibraryStore
from radsearch.storage.schema import Failure


def test_every_manifest_image_is_indexed_with_rows_and_vectors(tiny_archive, tiny_library):
    n = len(read_manifest(tiny_archive / "manifest.csv"))
    store = LibraryStore.open(tiny_library)
    assert store.counts()["images"] == n
    assert store.vectors("images").ntotal == n
    assert sorted(store.vectors("images").ids()) == sorted(store.catalog.ids("images"))
    studies = {r.study_id for r in read_manifest(tiny_archive / "manifest.csv")}
    assert store.counts()["reports"] == len(studies) == store.vectors("reports").ntotal


def test_reindexing_the_same_archive_adds_nothing(tiny_archive, tiny_library):
    summary = index(tiny_archive, tiny_library, progress=False)
    assert summary.added == 0 and summary.unchanged == len(read_manifest(tiny_archive / "manifest.csv"))
    assert LibraryStore.open(tiny_library).vectors("images").ntotal == summary.unchanged


@pytest.mark.filterwarnings("ignore::UserWarning")  # pydicom warns while reading the broken file
def test_unreadable_and_duplicate_files_are_counted_not_fatal(tiny_archive, tiny_model, tmp_path):
    folder = tmp_path / "mixed"
    shutil.copytree(tiny_archive / "images", folder)
    first = sorted(folder.rglob("*.dcm"))[0]
    shutil.copy(first, folder / "copy_of_first.dcm")
    (folder / "broken.dcm").write_bytes(b"\0" * 128 + b"DICM" + b"\x02\x00" * 10)
    (folder / "readme.txt").write_text("not an image")
    summary = index(folder, tmp_path / "lib", tiny_model, progress=False)
    assert summary.failed == 1 and summary.duplicates == 1 and summary.skipped["not an image file"] == 1
    assert summary.scanned == summary.added + summary.duplicates + summary.failed + summary.unchanged
    assert str(summary).startswith(f"scanned {summary.scanned} files") and "1 unreadable (1 " in str(summary)
    store = LibraryStore.open(tmp_path / "lib")
    with store.catalog.session() as s:
        failures = s.query(Failure).all()
        assert [f.path.endswith("broken.dcm") for f in failures] == [True]
    assert store.counts()["images"] == summary.added


def test_folder_without_manifest_takes_metadata_from_dicom_headers(tiny_archive, tiny_model, tmp_path):
    folder = tmp_path / "dicoms"
    folder.mkdir()
    for n, path in enumerate(sorted((tiny_archive / "images").rglob("*.dcm"))[:3]):
        shutil.copy(path, folder / f"IMG{n:04d}")  # no extension: found by the DICM preamble
    assert len(scan(folder).items) == 3
    index(folder, tmp_path / "lib", tiny_model, progress=False)
    lib = open_library(tmp_path / "lib")
    hits = lib.search.image(sorted(folder.iterdir())[0], k=3, include_own=True)
    assert hits[0].score > 0.99
    header_patient = pydicom.dcmread(sorted(folder.iterdir())[0]).PatientID
    assert hits[0].metadata["body_part"] == "CHEST"
    assert hits[0].metadata["patient_id"] == lib.store.pseudonymise(header_patient) != header_patient


def test_lost_vector_files_are_rebuilt_from_the_catalog(tiny_archive, tiny_model, tmp_path):
    index(tiny_archive, tmp_path / "lib", tiny_model, progress=False)
    before = open_library(tmp_path / "lib").search.text("pleural effusion", k=5)
    shutil.rmtree(tmp_path / "lib" / "vectors")
    after = open_library(tmp_path / "lib").search.text("pleural effusion", k=5)
    assert [h.id for h in after] == [h.id for h in before]
    assert (tmp_path / "lib" / "vectors" / "images.faiss").is_file()


def test_vectors_missing_after_a_crash_are_added_back(tiny_archive, tiny_model, tmp_path):
    index(tiny_archive, tmp_path / "lib", tiny_model, progress=False)
    store = LibraryStore.open(tmp_path / "lib")
    images = store.vectors("images")
    images.remove(images.ids()[:5])  # as if the process died after the SQL commit, before the FAISS save
    store.save_vectors("images")
    fresh = LibraryStore.open(tmp_path / "lib")
    assert fresh.vectors("images").ntotal == fresh.counts()["images"]


def test_a_different_model_is_refused_for_an_existing_library(tiny_archive, tiny_model, tiny_library, tmp_path):
    other = RadsearchModel.from_pretrained(tiny_model)
    with np.errstate(all="ignore"):
        for p in other.parameters():
            p.data.add_(0.01)
    other.save_pretrained(tmp_path / "other")
    with pytest.raises(LibraryMismatch, match="indexed with model"):
        index(tiny_archive, tiny_library, tmp_path / "other", progress=False)


def test_new_library_without_a_model_says_how_to_give_one(tiny_archive, tmp_path):
    with pytest.raises(ModelDirError, match="--model"):
        index(tiny_archive, tmp_path / "new", None, progress=False)


def test_equipment_and_geometry_from_the_header_reach_the_hit(tiny_model, tmp_path):
    from radsearch.datasets.synthetic import render, write_dicom
    folder = tmp_path / "one"
    pixels = render(np.random.default_rng(0), "CHEST", "PA").pixels
    path = write_dicom(pixels, folder / "a.dcm", {"PatientID": "P9", "Manufacturer": "ACME",
                                                   "ImagerPixelSpacing": [0.2, 0.2], "BodyPartExamined": "CHEST"})
    index(folder, tmp_path / "lib", tiny_model, progress=False)
    hit = open_library(tmp_path / "lib").search.image(path, k=1, include_own=True)[0]
    assert hit.metadata["manufacturer"] == "ACME" and hit.metadata["extra"]["pixel_spacing"] == [0.2, 0.2]


def test_a_library_whose_preprocessing_differs_from_its_model_is_refused(tiny_library, tmp_path):
    from radsearch.config import read_config, write_config
    library = tmp_path / "lib"
    shutil.copytree(tiny_library, library)
    config = read_config(library)
    config.profile = dict(config.profile, size=config.profile["size"] * 2)  # vectors made at another size
    write_config(library, config)
    with pytest.raises(LibraryMismatch, match="preprocessing profile"):
        _ = open_library(library).encoder


def test_a_library_in_an_older_format_is_refused_with_the_fix(tiny_library, tmp_path):
    old = tmp_path / "old"
    shutil.copytree(tiny_library, old)
    config = (old / "radsearch.toml").read_text()
    assert f"format_version = {FORMAT_VERSION}" in config
    (old / "radsearch.toml").write_text(config.replace(f"format_version = {FORMAT_VERSION}", "format_version = 2"))
    with pytest.raises(LibraryMismatch, match="format 2.*new library"):
        open_library(old)
