"""Privacy: index DICOMs full of patient identity, then search every byte of the library for it."""

from __future__ import annotations

import json

import numpy as np
import pytest
from deid_planting import plant_table
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from sr_documents import basic_text_sr

from radsearch import index, open_library
from radsearch.datasets.synthetic import render, write_dicom
from radsearch.imaging.deid_profile import Profile
from radsearch.imaging.header import CATALOG_OPTIONS

PHI = {  # distinctive values, so a match anywhere in the library cannot be a coincidence
    "PatientName": "Quixbottom^Zelda^Marigold",
    "PatientID": "MRN-7731904",
    "PatientBirthDate": "19410307",
    "OtherPatientIDs": "ALT-5520913",
    "PatientAddress": "17 Wrenfield Lane, Oxbury",
    "PatientTelephoneNumbers": "+44 7700 900461",
    "PatientMotherBirthName": "Fennimore^Ottilie",
    "AccessionNumber": "ACC-88410277",
    "ReferringPhysicianName": "Drumwell^Cosmo",
    "PerformingPhysicianName": "Haverlock^Imelda",
    "OperatorsName": "Tolliver^Bram",
    "PatientComments": "lives with daughter Petronella",
    "StudyID": "STU-6605121",
}


def _needles(value: str) -> set[str]:
    """The value and the parts a viewer or a parser might store on their own (name components, ISO date)."""
    parts = {value, *value.split("^")}
    if value.isdigit() and len(value) == 8:
        parts.add(f"{value[:4]}-{value[4:6]}-{value[6:]}")
    return {p for p in parts if len(p) >= 5}


@pytest.fixture(scope="module")
def phi_library(tiny_model, tmp_path_factory):
    archive = tmp_path_factory.mktemp("phi-archive")
    rng = np.random.default_rng(4)
    planted: dict = {}
    for n, (part, view) in enumerate([("CHEST", "PA"), ("CHEST", "LAT"), ("HAND", "PA")]):
        tags = dict(PHI, Modality="CR", BodyPartExamined=part, ViewPosition=view, PatientSex="F", PatientAge="085Y",
                    StudyInstanceUID=f"1.2.826.0.1.3680043.8.498.{n + 1}", StudyDate="20240105",
                    SeriesInstanceUID=f"1.2.826.0.1.3680043.8.498.{n + 1}.1")
        path = write_dicom(render(rng, part, view, size=(128, 112)).pixels, archive / f"image{n}.dcm", tags)
        if n == 0:  # identity hidden deeper too: in a sequence and a private tag
            import pydicom
            ds = pydicom.dcmread(path)
            item = Dataset()
            item.PatientName, item.PatientID = PHI["PatientName"], PHI["PatientID"]
            ds.RequestAttributesSequence = Sequence([item])
            ds.add_new(0x00110010, "LO", "ACME")
            ds.add_new(0x00111001, "LO", PHI["PatientName"])
            planted.update(plant_table(ds))  # and a distinctive value in every attribute of PS3.15 Table E.1-1
            for keyword, value in PHI.items():
                setattr(ds, keyword, value)
            ds.save_as(path)
            basic_text_sr(archive / "report.dcm", ds, [REPORT], ["No acute abnormality."])
    library = tmp_path_factory.mktemp("phi-library") / "library"
    summary = index(archive, library, tiny_model, progress=False, workers=0)
    assert summary.added == 3 and summary.reports_added == 1
    return library, planted


REPORT = "Findings discussed with Dr. Gallowglass at 14:05 on 03/14/2024, pager 4-5531, MRN 7731904."
REPORT_NEEDLES = ("Gallowglass", "14:05", "03/14/2024", "4-5531")
# what a library keeps on purpose, for search (docs/privacy.md): study UIDs for viewer links and the PACS,
# dates for date filters, age and sex for filters
KEPT_FOR_SEARCH = Profile(CATALOG_OPTIONS)


def test_no_name_birth_date_or_raw_identifier_is_stored_anywhere_in_the_library(phi_library):
    phi_library, planted = phi_library
    files = [p for p in phi_library.rglob("*") if p.is_file()]
    assert any(p.name.startswith("catalog.sqlite") for p in files) and any(p.suffix == ".faiss" for p in files)
    for path in files:
        data = path.read_bytes().lower()
        for keyword, value in PHI.items():
            for needle in _needles(value):
                assert needle.lower().encode() not in data, f"{keyword} ({needle}) found in {path}"
        for needle in REPORT_NEEDLES:
            assert needle.lower().encode() not in data, f"report text {needle!r} found in {path}"
        for tag, (vr, token) in planted.items():
            if KEPT_FOR_SEARCH.action(tag) == "K" or vr in ("DA", "DT", "AS"):
                continue  # kept on purpose, or a value that cannot be told apart from a kept one
            assert token.lower().encode() not in data, f"Table E.1-1 {tag:08X} ({token}) found in {path}"


def test_the_report_is_stored_with_placeholders_and_still_searchable(phi_library):
    library = open_library(phi_library[0])
    hits = library.search.reports("discussed with doctor", k=1)
    assert hits and "Dr. [NAME]" in hits[0].text and "[TIME]" in hits[0].text and "[DATE]" in hits[0].text


def test_results_and_headers_show_pseudonyms_not_identities(phi_library):
    library = open_library(phi_library[0])
    hits = library.search.text("chest radiograph", k=3)
    shown = json.dumps([hit.to_dict() for hit in hits]) + json.dumps([library.header(hit.id) for hit in hits])
    assert hits and hits[0].metadata["patient_id"].startswith("anon-")
    for value in PHI.values():
        for needle in _needles(value):
            assert needle not in shown
    assert library.search.image(hits[0].path, k=3, where={"patient_id": PHI["PatientID"]}, include_own=True)
