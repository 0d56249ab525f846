"""The column registry is the one list of metadata columns: the catalog, filters, readers and heads follow it."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from radsearch.columns import BY_NAME, COLUMNS, FILTERABLE, HEAD_COLUMNS, column
from radsearch.datasets.manifest import OPTIONAL_COLUMNS, REQUIRED_COLUMNS, read_manifest
from radsearch.datasets.synthetic import render, write_dicom
from radsearch.errors import InvalidFilter
from radsearch.heads.truth import COLUMN_HEADS
from radsearch.imaging import read
from radsearch.storage.filters import FILTER_COLUMNS, image_filter
from radsearch.storage.schema import Image


def test_every_column_is_an_images_column_and_every_filterable_one_is_indexed():
    table = Image.__table__
    indexed = {next(iter(index.columns)).name for index in table.indexes if len(index.columns) == 1}
    for entry in COLUMNS:
        assert entry.name in table.columns, entry.name
        assert (entry.name in indexed) == entry.filterable, entry.name
    assert set(FILTER_COLUMNS) == set(FILTERABLE) | {"labels"}
    assert set(COLUMN_HEADS) == set(HEAD_COLUMNS) and "split" not in COLUMN_HEADS


def test_numeric_columns_filter_by_range_and_identifiers_never_do():
    image_filter({"kvp": {"min": 100, "max": 130}, "age": {"min": 40}})
    with pytest.raises(InvalidFilter, match="compares numbers"):
        image_filter({"kvp": "high"})
    with pytest.raises(InvalidFilter, match="identifiers are pseudonymised"):
        image_filter({"patient_id": {"min": "A"}}, pseudonymise=lambda v: f"anon-{v}")
    with pytest.raises(KeyError, match="the columns are"):
        column("colour")


def test_a_header_gives_every_column_it_holds(tmp_path):
    tags = {"KVP": "125", "BodyPartExamined": "chest", "ViewPosition": "pa", "StudyDate": "20240105",
            "PatientAge": "045Y", "Manufacturer": "ACME"}
    with warnings.catch_warnings():  # lower-case code strings are invalid DICOM: what an old modality writes
        warnings.simplefilter("ignore", UserWarning)
        path = write_dicom(render(np.random.default_rng(0), "CHEST", "PA").pixels, tmp_path / "a.dcm", tags)
    meta = read(path).metadata
    assert (meta["kvp"], meta["body_part"], meta["view"]) == (125.0, "CHEST", "PA")  # coded values upper-cased
    assert (meta["study_date"], meta["age"], meta["manufacturer"]) == ("2024-01-05", 45.0, "ACME")
    assert all(name in meta for name, entry in BY_NAME.items() if entry.dicom is not None)


def test_a_manifest_may_give_every_column_the_registry_names_for_it(tmp_path):
    manifest = tmp_path / "m.csv"
    names = [*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS]
    assert {c.manifest for c in COLUMNS if c.manifest} <= set(names)
    manifest.write_text(",".join(names) + "\n" + ",".join("x.png" if n == "path" else "" for n in names) + "\n")
    assert read_manifest(manifest)[0].path.endswith("x.png")
