"""Metadata filters: a dict grammar compiled to parameterised SQL."""

from __future__ import annotations

import pytest
from catalog_rows import catalog_with_one_series
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from radsearch.errors import InvalidFilter
from radsearch.privacy import Pseudonymizer
from radsearch.storage import FILTER_COLUMNS, Catalog
from radsearch.storage.filters import image_filter
from radsearch.storage.schema import Image, Label

PSEUDONYMS = Pseudonymizer(salt="test-salt")


@pytest.fixture()
def catalog(tmp_path) -> Catalog:
    catalog, study_id, series_id = catalog_with_one_series(tmp_path)
    with catalog.session() as s:
        for n, (part, view, age, labels) in enumerate([("CHEST", "PA", 30.0, ["nodule"]), ("CHEST", "LAT", 50.0, []),
                                                       ("HAND", "PA", 70.0, []), ("CHEST", "PA", 65.0, ["nodule"])]):
            image = Image(study_id=study_id, series_id=series_id, path=f"/x/{n}.png", content_hash=str(n),
                          patient_id=PSEUDONYMS(f"P{n}"),
                          body_part=part, view=view, age=age, width=1, height=1, profile_hash="p", embedding=b"")
            image.labels = [Label(name=name) for name in labels]
            s.add(image)
    yield catalog
    catalog.engine.dispose()


def _ids(catalog: Catalog, where: dict) -> list[int]:
    with catalog.session() as s:
        return sorted(s.scalars(image_filter(where, PSEUDONYMS)))


def test_equality_any_of_range_labels_and_exclusion(catalog):
    assert _ids(catalog, {"body_part": "CHEST"}) == [1, 2, 4]
    assert _ids(catalog, {"view": ["LAT", "PA"], "body_part": "HAND"}) == [3]
    assert _ids(catalog, {"age": {"min": 40, "max": 66}}) == [2, 4]
    assert _ids(catalog, {"labels": "nodule"}) == [1, 4]
    assert _ids(catalog, {"patient_id": {"not": "P0"}}) == [2, 3, 4]  # image 1 belongs to P0
    assert _ids(catalog, {"labels": {"not": "nodule"}}) == [2, 3]


def test_unknown_column_lists_the_filterable_ones(catalog):
    with pytest.raises(InvalidFilter, match="body_part"):
        _ids(catalog, {"password": "x"})


def test_sql_injection_in_a_value_is_just_a_value(catalog):
    assert _ids(catalog, {"body_part": "CHEST' OR '1'='1"}) == []
    with catalog.session() as s:
        assert s.scalar(select(Image.id).limit(1)) is not None  # table still there


def test_bad_range_spec_is_refused(catalog):
    with pytest.raises(InvalidFilter):
        _ids(catalog, {"age": {"between": 3}})


def test_patient_filters_take_real_ids_or_pseudonyms_but_no_ranges(catalog):
    assert _ids(catalog, {"patient_id": "P2"}) == _ids(catalog, {"patient_id": PSEUDONYMS("P2")}) == [3]
    assert _ids(catalog, {"patient_id": ["P0", "P3"]}) == [1, 4]
    with catalog.session() as s:  # without the pseudonymizer a real ID matches nothing: none is stored
        assert list(s.scalars(image_filter({"patient_id": "P2"}))) == []
    with pytest.raises(InvalidFilter, match="pseudonymised"):
        _ids(catalog, {"patient_id": {"min": "P0"}})


_SCALARS = (st.text(max_size=12) | st.integers() | st.floats() | st.booleans() | st.none()
            | st.sampled_from(["CHEST", "nodule", "40", "2020-01-01", "'; DROP TABLE images; --"]))
_SPECS = (_SCALARS | st.lists(_SCALARS, max_size=3)
          | st.dictionaries(st.sampled_from(["min", "max", "not", "between"]) | st.text(max_size=4),
                            _SCALARS | st.lists(_SCALARS, max_size=2), max_size=3))
_COLUMNS = (st.sampled_from([*FILTER_COLUMNS, "head:effusion", "head:view:PA", "head:", "password"])
            | st.text(max_size=8))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(where=st.dictionaries(_COLUMNS, _SPECS, max_size=3))
def test_any_filter_expression_gives_matching_ids_or_invalid_filter(catalog, where):
    """Whatever a user (or a URL) sends as a filter, the database sees bound parameters of the right type:
    the answer is a list of image ids, or InvalidFilter naming the problem, never a database error."""
    try:
        ids = _ids(catalog, where)
    except InvalidFilter as e:
        assert str(e)
        return
    assert set(ids) <= {1, 2, 3, 4}


def test_sql_injection_in_names_and_labels_is_refused_or_bound(catalog):
    attack = "x' OR 1=1; DROP TABLE images; --"
    query = image_filter({"labels": attack, "body_part": [attack, "CHEST"], "head:" + attack: "yes"}, PSEUDONYMS)
    assert attack not in str(query.compile())  # in the statement only as a bound parameter
    assert _ids(catalog, {"labels": attack}) == [] and _ids(catalog, {"body_part": [attack, "HAND"]}) == [3]
    with pytest.raises(InvalidFilter, match="cannot filter by"):
        _ids(catalog, {attack: "CHEST"})
    assert _ids(catalog, {}) == [1, 2, 3, 4]  # every table and row still there
