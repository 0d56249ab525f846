"""Shared by the storage tests: a fresh catalog (the test's SQLite or PostgreSQL) holding one study and series,
for tests that add image rows to it directly."""

from __future__ import annotations

from pathlib import Path

from radsearch.storage import Catalog
from radsearch.storage.database import new_library_url, prepare_database
from radsearch.storage.schema import Series, Study


def catalog_with_one_series(root: Path, pseudonymise=None) -> tuple[Catalog, int, int]:  # noqa: ANN001
    """(catalog, study id, series id): see catalog_backend for where the catalog lives."""
    url = prepare_database(new_library_url(root)) or f"sqlite:///{root / 'c.sqlite'}"
    catalog = Catalog(url, pseudonymise)
    with catalog.session() as s:
        study = Study(study_key="S1", patient_id="P1")
        s.add(study)
        s.flush()
        series = Series(study_id=study.id, series_key="S1/series")
        s.add(series)
        s.flush()
        return catalog, study.id, series.id
