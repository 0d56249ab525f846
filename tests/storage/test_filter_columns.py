"""Filters answered from memory give exactly what SQL gives, and stay right as the image index changes."""

from __future__ import annotations

import numpy as np
import pytest
from catalog_rows import catalog_with_one_series
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from radsearch import index, open_library
from radsearch.datasets.synthetic import render, write_dicom
from radsearch.privacy import Pseudonymizer
from radsearch.storage import Catalog
from radsearch.storage.filter_columns import FilterColumns
from radsearch.storage.schema import Image, Label

PSEUDONYMS = Pseudonymizer(salt="test-salt")
N = 80
PARTS = ["CHEST", "chest", "HAND", "Knee", "ÉPAULE", None]  # case and accents: text order matters to ranges
VIEWS = ["PA", "AP", "LAT", None]
DATES = ["2019-03-01", "2020-12-31", "2021-01-01", "2024-06-15", None]
LABELS = ["nodule", "effusion", "fracture"]


@pytest.fixture()
def catalog(tmp_path, catalog_backend) -> Catalog:
    """N images with random metadata and labels (a fixed seed); NULLs in every column; SQLite and PostgreSQL."""
    catalog, study_id, series_id = catalog_with_one_series(tmp_path, PSEUDONYMS)
    rng = np.random.default_rng(7)
    with catalog.session() as s:
        for n in range(N):
            age = None if rng.random() < 0.15 else float(rng.integers(0, 100))
            image = Image(study_id=study_id, series_id=series_id, path=f"/x/{n}.png", content_hash=str(n),
                          patient_id=PSEUDONYMS(f"P{n % 9}"), body_part=PARTS[rng.integers(len(PARTS))],
                          view=VIEWS[rng.integers(len(VIEWS))], study_date=DATES[rng.integers(len(DATES))],
                          age=age, width=1, height=1, profile_hash="p", embedding=b"")
            image.labels = [Label(name=name) for name in LABELS if rng.random() < 0.3]
            s.add(image)
    yield catalog
    catalog.engine.dispose()


def columns_of(catalog: Catalog) -> FilterColumns:
    return FilterColumns(catalog.column_values, catalog.label_pairs, catalog.orders_text_by_code_point())


def values(options):
    return st.one_of(st.sampled_from(options), st.lists(st.sampled_from(options), min_size=1, max_size=3))


def text_range(options):
    bound = st.one_of(st.none(), st.sampled_from(options))
    return st.fixed_dictionaries({"min": bound, "max": bound})


CONDITIONS = {
    "body_part": st.one_of(values([p for p in PARTS if p] + ["SKULL"]),
                           st.fixed_dictionaries({"not": values(["CHEST", "HAND"])}),
                           text_range(["CHEST", "Knee", "chest", "D"])),
    "view": st.one_of(values(["PA", "AP", "LAT"]), st.fixed_dictionaries({"not": values(["PA", "LAT"])})),
    "study_date": text_range(["2019-01-01", "2020-12-31", "2021-06", "2024-12-31"]),
    "age": st.one_of(st.fixed_dictionaries({"min": st.one_of(st.none(), st.integers(0, 100)),
                                            "max": st.one_of(st.none(), st.integers(0, 100))}),
                     values([30, 50.0, 99]), st.fixed_dictionaries({"not": values([30, 50])})),
    "labels": st.one_of(values(LABELS + ["unknown"]), st.fixed_dictionaries({"not": values(LABELS)})),
    "patient_id": st.one_of(values(["P1", "P2", "P5"]), st.fixed_dictionaries({"not": values(["P1", "P3"])})),
}
FILTERS = st.dictionaries(st.sampled_from(sorted(CONDITIONS)), st.just(None), min_size=1, max_size=3).flatmap(
    lambda keys: st.fixed_dictionaries({key: CONDITIONS[key] for key in keys}))


def sql_ids(catalog: Catalog, where: dict, among: np.ndarray | None = None) -> list[int]:
    found = catalog.matching_ids(catalog.filter(where))
    return sorted(found if among is None else set(found) & set(among.tolist()))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(where=FILTERS)
def test_every_filter_matches_what_sql_matches(catalog, where):
    columns = columns_of(catalog)
    columns.sync(np.array(catalog.matching_ids(None), dtype=np.int64))
    flt = catalog.filter(where)
    if not columns.supports(flt.conditions):  # a text range on a database that orders text its own way
        assert catalog.dialect == "postgresql" and not catalog.orders_text_by_code_point()
        return
    assert columns.matching(flt.conditions).tolist() == sql_ids(catalog, where)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(where=FILTERS, steps=st.lists(st.lists(st.integers(0, N - 1), max_size=N), min_size=1, max_size=4),
       first=st.sampled_from(["body_part", "labels", "age"]))
def test_as_the_index_gains_and_loses_images_filters_answer_for_the_images_it_holds(catalog, where, steps, first):
    """The columns follow the index's ids: after every change a filter matches what SQL matches among them."""
    every = np.array(catalog.matching_ids(None), dtype=np.int64)
    columns = columns_of(catalog)
    columns.sync(every[:N // 2])
    columns.matching(catalog.filter({first: {"not": "nothing"}} if first != "age" else {"age": {"min": 0}})
                     .conditions)  # one column read before the index changes, the others after
    for held in steps:
        ids = every[sorted(set(held))]
        columns.sync(ids)
        flt = catalog.filter(where)
        if columns.supports(flt.conditions):
            assert columns.matching(flt.conditions).tolist() == sql_ids(catalog, where, among=ids)


def test_a_head_filter_stays_in_sql(catalog):
    columns = columns_of(catalog)
    assert not columns.supports(catalog.filter({"head:effusion": "yes", "body_part": "CHEST"}).conditions)
    assert columns.supports(catalog.filter({"body_part": "CHEST", "labels": "nodule"}).conditions)


def _dicoms(folder, parts: list[str], seed: int) -> list:
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    return [write_dicom(render(rng, part, "PA").pixels, folder / f"{n}.dcm", {
        "PatientID": f"F{seed}-{n}", "StudyInstanceUID": f"1.2.3.{seed}.{n}",
        "SeriesInstanceUID": f"1.2.3.{seed}.{n}.1",
        "BodyPartExamined": part, "ViewPosition": "PA", "Modality": "DX"}) for n, part in enumerate(parts)]


def test_a_long_running_reader_filters_what_another_writer_added_and_removed(tmp_path, tiny_model, catalog_backend):
    """A server keeps filtering right while an indexer in another process removes the newest image and adds
    one of another body part (on SQLite that newcomer once took the removed image's id)."""
    chests = _dicoms(tmp_path / "first", ["CHEST", "CHEST", "CHEST"], seed=1)
    index(tmp_path / "first", tmp_path / "lib", tiny_model, progress=False)
    reader = open_library(tmp_path / "lib")
    assert sorted(h.path for h in reader.search("effusion", k=10, where={"body_part": "CHEST"})) == \
        sorted(str(p) for p in chests)
    assert list(reader.search("effusion", k=10, where={"body_part": "HAND"})) == []

    writer = open_library(tmp_path / "lib")
    newest = max(writer.store.catalog.matching_ids(None))
    gone = writer.store.catalog.get([newest])[newest].path
    writer.remove([gone])
    hands = _dicoms(tmp_path / "second", ["HAND"], seed=2)
    writer.index(tmp_path / "second", progress=False)
    assert min(writer.store.catalog.matching_ids(writer.store.catalog.filter({"body_part": "HAND"}))) > newest

    assert [h.path for h in reader.search("effusion", k=10, where={"body_part": "HAND"})] == [str(hands[0])]
    assert sorted(h.path for h in reader.search("effusion", k=10, where={"body_part": "CHEST"})) == \
        sorted(str(p) for p in chests if str(p) != gone)


def test_text_ranges_stay_in_sql_where_the_database_orders_text_its_own_way(catalog):
    """PostgreSQL under en_US (or similar) orders case and punctuation unlike Python: such ranges go to SQL."""
    columns = FilterColumns(catalog.column_values, catalog.label_pairs, text_ranges=False)
    assert not columns.supports(catalog.filter({"study_date": {"min": "2020-01-01"}}).conditions)
    assert columns.supports(catalog.filter({"age": {"min": 40}, "study_date": "2020-12-31"}).conditions)
