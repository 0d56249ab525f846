"""What the catalog records from a header: series and frames grouped, identities never stored."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from pydicom.data import get_testdata_file
from sqlalchemy import MetaData

from radsearch import index, open_library
from radsearch.datasets.synthetic import render, write_dicom
from radsearch.errors import LibraryMismatch
from radsearch.storage import LibraryStore
from radsearch.storage.schema import Image, Series, Study

IDENTITY = {"PatientName": "Doe^Jane", "PatientID": "MRN-8675309", "AccessionNumber": "ACC-424242",
            "PatientBirthDate": "19611103", "PatientAddress": "12 Elm Street, Springfield",
            "OtherPatientIDs": "OTHER-5550101", "ReferringPhysicianName": "House^Gregory",
            "PatientTelephoneNumbers": "555-0199"}


def _study(folder, series_uids, tags=None):
    """One two-series chest study, written as DICOM with a full identity in the header."""
    rng = np.random.default_rng(1)
    paths = []
    for n, series_uid in enumerate(series_uids):
        view = ("PA", "LATERAL")[n % 2]
        base = {"StudyInstanceUID": "1.2.826.0.1.3680043.8.498.1", "SeriesInstanceUID": series_uid,
                "SeriesNumber": n + 1, "Modality": "CR", "BodyPartExamined": "CHEST", "ViewPosition": view,
                "StudyDate": "20240105", "PatientSex": "F", "InstitutionName": "St Elsewhere"}
        pixels = render(rng, "CHEST", "PA" if view == "PA" else "LAT").pixels
        paths.append(write_dicom(pixels, folder / f"{n}.dcm", base | IDENTITY | (tags or {})))
    return paths


def _dump(library) -> dict[str, list[tuple]]:
    """Every row of every table the catalog holds (SQLite or PostgreSQL)."""
    engine = LibraryStore.open(library).catalog.engine
    tables = MetaData()
    tables.reflect(engine)
    with engine.connect() as conn:
        return {name: [tuple(row) for row in conn.execute(table.select())] for name, table in tables.tables.items()}


def test_catalog_never_stores_names_birth_dates_addresses_or_real_ids(tiny_model, tmp_path):
    _study(tmp_path / "study", ["1.2.3.1", "1.2.3.2"])
    index(tmp_path / "study", tmp_path / "lib", tiny_model, progress=False)
    rows = _dump(tmp_path / "lib")
    assert len(rows["images"]) == 2
    dump = repr(rows)
    for value in ("Doe", "Jane", "8675309", "424242", "19611103", "Elm Street", "5550101", "House", "555-0199"):
        assert value not in dump, f"{value!r} reached the catalog"
    assert "St Elsewhere" in dump  # institution is kept: it is a site, and a filter


def test_pseudonyms_are_stable_within_a_library_and_differ_between_libraries(tiny_model, tmp_path):
    _study(tmp_path / "study", ["1.2.3.1"])
    for name in ("a", "b"):
        index(tmp_path / "study", tmp_path / name, tiny_model, progress=False)
    first, second = (LibraryStore.open(tmp_path / n) for n in ("a", "b"))
    with first.catalog.session() as s:
        image = s.query(Image).one()
        assert image.patient_id == first.pseudonymise("MRN-8675309")
        assert image.study.accession == first.pseudonymise("ACC-424242")
    assert first.pseudonymise("MRN-8675309") != second.pseudonymise("MRN-8675309")  # salts differ
    lib = open_library(tmp_path / "a")  # a user filters by the real ID and still finds the patient
    assert len(lib.search.text("chest", k=5, where={"patient_id": "MRN-8675309"})) == 1
    assert lib.search.text("chest", k=5, where={"patient_id": {"not": "MRN-8675309"}}) == []


def test_keep_identifiers_is_a_choice_made_when_the_library_is_created(tiny_model, tmp_path):
    _study(tmp_path / "study", ["1.2.3.1"])
    index(tmp_path / "study", tmp_path / "lib", tiny_model, progress=False, keep_identifiers=True)
    hit = open_library(tmp_path / "lib").search.text("chest", k=1)[0]
    assert hit.metadata["patient_id"] == "MRN-8675309" and hit.metadata["accession"] == "ACC-424242"
    assert "Doe" not in _dump(tmp_path / "lib")  # names stay out even then
    with pytest.raises(LibraryMismatch, match="fixed when a library is created"):
        index(tmp_path / "study", tmp_path / "lib", keep_identifiers=False, progress=False)


def test_images_are_grouped_into_their_study_and_series(tiny_model, tmp_path):
    _study(tmp_path / "study", ["1.2.3.1", "1.2.3.2", "1.2.3.2"], tags=None)
    index(tmp_path / "study", tmp_path / "lib", tiny_model, progress=False)
    store = LibraryStore.open(tmp_path / "lib")
    with store.catalog.session() as s:
        assert s.query(Study).count() == 1
        series = {se.series_uid: sorted(i.frame for i in se.images) for se in s.query(Series)}
        assert {uid: len(frames) for uid, frames in series.items()} == {"1.2.3.1": 1, "1.2.3.2": 2}
        assert {se.number for se in s.query(Series)} == {1, 2}


def test_header_is_kept_as_json_without_pixels_or_identity(tiny_model, tmp_path):
    _study(tmp_path / "study", ["1.2.3.1"], tags={"KVP": 125, "ExposureTime": 12})
    index(tmp_path / "study", tmp_path / "lib", tiny_model, progress=False)
    lib = open_library(tmp_path / "lib")
    hit = lib.search.text("chest", k=1)[0]
    header = lib.header(hit.id)
    assert header["00180060"]["Value"] == [125.0]  # KVP, for later filters
    assert header["00080060"]["Value"] == ["CR"]
    assert "7FE00010" not in header  # pixel data
    assert not {"00100010", "00100020", "00100030", "00080050", "00080090"} & set(header)  # names, ids, birth date


def test_each_frame_of_a_multiframe_file_is_its_own_image(tiny_model, tmp_path):
    folder = tmp_path / "mf"
    folder.mkdir()
    shutil.copy(get_testdata_file("emri_small.dcm"), folder / "cine.dcm")  # 10 frames
    summary = index(folder, tmp_path / "lib", tiny_model, progress=False)
    assert summary.added == 10 and summary.scanned == 1
    store = LibraryStore.open(tmp_path / "lib")
    with store.catalog.session() as s:
        frames = s.query(Image).order_by(Image.frame).all()
        assert [i.frame for i in frames] == list(range(10)) and len({i.sop_uid for i in frames}) == 1
        assert len({i.embedding for i in frames}) == 10  # different pixels, different vectors
    again = index(folder, tmp_path / "lib", progress=False)
    assert again.added == 0 and again.unchanged == 1 and store.vectors("images").ntotal == 10
