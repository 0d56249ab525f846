"""Metadata filters: a dict grammar compiled to parameterised SQL."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from radsearch.errors import InvalidFilter
from radsearch.storage import Catalog, Image, Label, Study, image_filter


@pytest.fixture()
def catalog(tmp_path) -> Catalog:
    catalog = Catalog(f"sqlite:///{tmp_path / 'c.sqlite'}")
    with catalog.session() as s:
        study = Study(study_key="S1", patient_id="P1")
        s.add(study)
        s.flush()
        for n, (part, view, age, labels) in enumerate([("CHEST", "PA", 30.0, ["nodule"]), ("CHEST", "LAT", 50.0, []),
                                                       ("HAND", "PA", 70.0, []), ("CHEST", "PA", 65.0, ["nodule"])]):
            image = Image(study_id=study.id, path=f"/x/{n}.png", content_hash=str(n), patient_id=f"P{n}",
                          body_part=part, view=view, age=age, width=1, height=1, profile_hash="p", embedding=b"")
            image.labels = [Label(name=name) for name in labels]
            s.add(image)
    return catalog


def _ids(catalog: Catalog, where: dict) -> list[int]:
    with catalog.session() as s:
        return sorted(s.scalars(image_filter(where)))


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
