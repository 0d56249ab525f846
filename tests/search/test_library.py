"""The search API on a tiny library: shapes, filters, report search, its own image first."""

from __future__ import annotations

import pytest

from radsearch import index, open_library
from radsearch.datasets import read_manifest
from radsearch.errors import LibraryNotFound
from radsearch.storage.database import database_name, drop_database, parse


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def lib(request, tiny_library, tiny_archive, tmp_path_factory):
    """The tiny library; and again with its catalog in PostgreSQL, where a server runs."""
    if request.param == "sqlite":
        yield open_library(tiny_library)
        return
    server = request.getfixturevalue("postgres_server")
    library = tmp_path_factory.mktemp("pg-lib") / "library"
    url = parse(server).set(database=database_name(library)).render_as_string(hide_password=False)
    index(tiny_archive, library, tiny_library / "model", database_url=url, progress=False)
    yield open_library(library)
    drop_database(url)


def test_an_indexed_image_finds_itself_first(lib, tiny_archive):
    record = read_manifest(tiny_archive / "manifest.csv")[0]
    hits = lib.search.image(record.path, k=5, include_own=True)
    assert hits[0].path == record.path and hits[0].score == pytest.approx(1.0, abs=1e-4)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_a_query_from_the_library_leaves_out_its_own_patient_and_study(lib, tiny_archive):
    records = read_manifest(tiny_archive / "manifest.csv")
    record = next(r for r in records if sum(o.patient_id == r.patient_id for o in records) > 1)
    own = {o.path for o in records if o.patient_id == record.patient_id or o.study_id == record.study_id}
    hits = lib.search.image(record.path, k=len(records))
    assert len(hits) == len(records) - len(own) and not {h.path for h in hits} & own
    similar = lib.search.like(lib.search.image(record.path, k=1, include_own=True)[0].id, k=len(records))
    assert [h.id for h in similar] == [h.id for h in hits]


def test_a_query_file_is_read_once_for_its_pixels_its_own_patient_and_the_audit_log(lib, tiny_archive, monkeypatch):
    import builtins
    import io
    records = read_manifest(tiny_archive / "manifest.csv")
    record = next(r for r in records if r.path.endswith(".dcm")
                  and sum(o.patient_id == r.patient_id for o in records) > 1)
    opened: list[str] = []
    for module in (builtins, io):
        original = module.open

        def counting(file, *args, _open=original, **kwargs):  # noqa: ANN001, ANN202
            if str(file) == record.path:
                opened.append(str(file))
            return _open(file, *args, **kwargs)

        monkeypatch.setattr(module, "open", counting)
    hits = lib.search.image(record.path, k=3)
    assert len(opened) == 1  # decoded, hashed (own patient) and described (audit log) from one read
    assert hits and lib.pseudonym(record.patient_id) not in {h.metadata["patient_id"] for h in hits}
    assert lib.audit_log(limit=1)[0].query.startswith(f"image {record.path.rsplit('/', 1)[-1]} sha256:")


def test_hits_carry_metadata_report_labels_and_thumbnail(lib, tiny_archive):
    record = next(r for r in read_manifest(tiny_archive / "manifest.csv") if r.labels)
    hit = lib.search.image(record.path, k=1, include_own=True)[0]
    assert hit.labels == record.labels and hit.report == record.report
    assert hit.metadata["body_part"] == record.body_part and hit.metadata["split"] == record.split
    assert hit.thumbnail and hit.thumbnail.endswith(f"{hit.id}.png")


def test_filters_restrict_results_and_still_fill_k(lib, tiny_archive):
    records = read_manifest(tiny_archive / "manifest.csv")
    n_chest = sum(r.body_part == "CHEST" for r in records)
    hand = next(r for r in records if r.body_part != "CHEST")
    hits = lib.search.image(hand.path, k=n_chest, where={"body_part": "CHEST"}, include_own=True)
    assert len(hits) == n_chest and all(h.metadata["body_part"] == "CHEST" for h in hits)


def test_filter_with_no_match_returns_nothing(lib):
    assert lib.search.text("nodule", k=5, where={"body_part": "SKULL"}) == []


def test_report_search_by_text_and_by_image(lib, tiny_archive):
    record = read_manifest(tiny_archive / "manifest.csv")[0]
    by_image = lib.search.reports(record.path, k=3)
    by_text = lib.search.reports("pleural effusion", k=3)
    assert len(by_image) == 3 and len(by_text) == 3
    assert all(h.text and h.study_key and h.image_ids for h in by_image + by_text)
    own = {r.study_id for r in read_manifest(tiny_archive / "manifest.csv") if r.patient_id == record.patient_id}
    every = lib.store.catalog.count("reports")
    assert not {h.study_key for h in lib.search.reports(record.path, k=every)} & own  # its own patient's stay out
    assert own <= {h.study_key for h in lib.search.reports(record.path, k=every, include_own=True)}


def test_empty_text_query_is_refused(lib):
    with pytest.raises(ValueError):
        lib.search.text("   ")


def test_opening_a_folder_that_is_not_a_library_says_how_to_make_one(tmp_path):
    with pytest.raises(LibraryNotFound, match="radsearch index"):
        open_library(tmp_path)


def test_report_hits_name_and_highlight_the_sentence_that_matched(lib):
    hits = lib.search.reports("pleural effusion", k=5)
    assert hits and all(hit.why is not None for hit in hits)
    for hit in hits:
        assert hit.why.section in {"FINDINGS", "IMPRESSION"} and hit.why.sentence in hit.text
        assert f"**{hit.why.sentence}**" in hit.why.highlight(hit.text)


def test_sentence_search_ranks_k_distinct_reports_by_their_best_sentence(lib):
    hits = lib.search.sentences("No pneumothorax.", k=5)
    assert len({hit.id for hit in hits}) == len(hits) == 5
    assert [hit.score for hit in hits] == sorted((hit.score for hit in hits), reverse=True)
    for hit in hits:
        assert hit.why.sentence in hit.text and abs(hit.why.score - hit.score) < 1e-4


def test_image_hits_carry_the_nearest_sentence_of_their_report(lib):
    hits = lib.search.text("cardiomegaly", k=5)
    with_report = [hit for hit in hits if hit.report]
    assert with_report and all(hit.why is not None and hit.why.sentence in hit.report for hit in with_report)


def test_case_search_groups_images_into_studies_or_patients(lib):
    studies = lib.search.cases("pleural effusion", k=4, by="study")
    assert len({g.key for g in studies}) == len(studies) == 4
    assert [g.score for g in studies] == sorted((g.score for g in studies), reverse=True)
    for group in studies:
        assert all(h.study_key == group.key for h in group.hits)
        assert group.score == pytest.approx(max(h.score for h in group.hits))
    patients = lib.search.cases("pleural effusion", k=3, by="patient", score="mean")
    for group in patients:
        assert all(h.metadata["patient_id"] == group.key for h in group.hits)
        assert group.score == pytest.approx(sum(h.score for h in group.hits) / len(group.hits))
    with pytest.raises(ValueError, match="study"):
        lib.search.cases("x", by="series")


def test_examples_more_like_these_less_like_those(lib, tiny_archive):
    records = read_manifest(tiny_archive / "manifest.csv")
    pa, lat = next((r, o) for r in records for o in records
                   if r.study_id == o.study_id and (r.view, o.view) == ("PA", "LAT"))
    # a study's two views, each finding itself: the best match among the views scores a result
    both = lib.search.examples([pa.path, lat.path], k=2, combine="max", include_own=True)
    assert {h.path for h in both} == {pa.path, lat.path} and all(h.score > 0.999 for h in both)
    # by default the examples' own patient and study stay out
    assert not {h.path for h in lib.search.examples([pa.path, lat.path], k=10)} & {pa.path, lat.path}
    plain = lib.search.examples([pa.path], k=len(records), include_own=True)
    unwanted = plain[1]
    pushed = lib.search.examples([pa.path], [unwanted.id], k=len(records), include_own=True)
    assert [h.id for h in pushed].index(unwanted.id) > 1  # a negative example sinks in the ranking
    with pytest.raises(ValueError, match="positive"):
        lib.search.examples([])


def test_broad_and_narrow_filters_give_the_exact_filtered_ranking(lib, tiny_archive, monkeypatch):
    """Whichever way a filter is applied (post-filtered over-fetch or id selector), the ranking is exact."""
    from radsearch.search import planner
    monkeypatch.setattr(planner, "OVERFETCH_SHARE", 0.2)  # a switch point a 17-image library can straddle
    patient = read_manifest(tiny_archive / "manifest.csv")[0].patient_id
    filters = [{"body_part": "CHEST"}, {"sex": "M"}, {"body_part": {"not": "CHEST"}}, {"patient_id": patient}]
    shares = [lib.search.planner.plan(where).share for where in filters]
    assert min(shares) < planner.OVERFETCH_SHARE <= max(shares)  # both ways of filtering are exercised
    for where in filters:
        _check_exact_filtered_ranking(lib, where)


def test_a_filtered_search_never_counts_or_lists_the_whole_catalog(lib):
    """Planning reads a fixed sample of ids, not a COUNT over the catalog, so it costs the same at 10^7 images."""
    from sqlalchemy import event
    statements = []
    listen = lambda _conn, _cursor, sql, *_: statements.append(sql.lower())  # noqa: E731
    event.listen(lib.store.catalog.engine, "before_cursor_execute", listen)
    try:
        lib.search.text("pleural effusion", k=3, where={"body_part": "CHEST", "age": {"min": 20}})
    finally:
        event.remove(lib.store.catalog.engine, "before_cursor_execute", listen)
    assert statements and not [sql for sql in statements if "count(" in sql]


def _check_exact_filtered_ranking(lib, where):
    n = lib.count("images")
    everything = lib.search.text("pleural effusion", k=n)
    matching = set(lib.store.catalog.matching_ids(lib.store.catalog.filter(where)))
    expected = [h.id for h in everything if h.id in matching]
    for k in (1, 3, len(expected)):
        assert [h.id for h in lib.search.text("pleural effusion", k=k, where=where)] == expected[:k]
