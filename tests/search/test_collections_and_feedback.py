"""Collections and relevance marks: kept in the library's catalog, audited, exported, and used by search."""

from __future__ import annotations

import shutil

import pytest

from radsearch import index, open_library
from radsearch.datasets import read_manifest
from radsearch.search.audit import acting_as


@pytest.fixture()
def lib(tiny_library, tiny_archive, tmp_path, catalog_backend):
    """A private copy of the tiny library (SQLite), or the library re-made with its catalog in PostgreSQL."""
    copy = tmp_path / "library"
    if catalog_backend == "sqlite":
        shutil.copytree(tiny_library, copy)
    else:
        index(tiny_archive, copy, tiny_library / "model", progress=False)
    return open_library(copy)


def test_a_saved_case_is_listed_with_its_note_and_user_and_audited(lib):
    hit = lib.search("pleural effusion", k=3)[0]
    with acting_as("dr.ada"):
        assert lib.collections.add("teaching file", hit.id, note="classic meniscus sign") == [hit.id]
        assert lib.collections.add("teaching file", hit.id) == []  # already there: not doubled
    listed = lib.collections.list()
    assert [(c.name, c.items, c.user) for c in listed] == [("teaching file", 1, "dr.ada")]
    item = lib.collections.items("teaching file")[0]
    assert (item.image_id, item.note, item.user, item.study_key) == (hit.id, "classic meniscus sign", "dr.ada",
                                                                     hit.study_key)
    audited = lib.audit_log(user="dr.ada")
    assert [(a.action, a.query, a.results) for a in audited][-1] == ("collection_add", "collection: teaching file",
                                                                     [hit.id])
    reopened = open_library(lib.path)  # stored in the catalog, not in the session
    assert reopened.collections.image_ids("teaching file") == [hit.id]


def test_an_unknown_collection_or_image_is_refused_by_name(lib):
    with pytest.raises(KeyError, match="no collection named 'tumour board'"):
        lib.collections.items("tumour board")
    with pytest.raises(KeyError, match="no image with id 999999"):
        lib.collections.add("set", [999999])
    with pytest.raises(ValueError, match="1 to 128 characters"):
        lib.collections.create("   ")


def test_a_collection_exports_as_a_manifest_that_indexes_again(lib, tmp_path):
    hits = lib.search("nodule", k=4)
    lib.collections.add("nodules", [h.id for h in hits])
    path, rows = lib.export_collection("nodules", tmp_path / "nodules.csv")
    exported = read_manifest(path)
    assert rows == len(exported) == len({h.path for h in hits})
    assert {r.path for r in exported} == {h.path for h in hits}
    assert all(r.study_id for r in exported)


def test_a_collection_searches_as_positive_and_negative_examples(lib):
    effusions = [h.id for h in lib.search("pleural effusion", k=3)]
    lib.collections.add("effusions", effusions)
    plain = lib.collections.more_like("effusions", k=20)
    assert plain and not {h.id for h in plain} & set(effusions)  # the examples' own cases are left out
    unwanted = plain[0]
    lib.collections.add("not these", unwanted.id)
    avoided = lib.collections.more_like("effusions", k=20, avoid="not these")
    assert unwanted.id not in {h.id for h in avoided}
    rest = [h.id for h in plain if h.id in {a.id for a in avoided}]
    vector = lib.search.image_vector(unwanted.id)
    most_like = max(rest, key=lambda i: float(lib.search.image_vector(i) @ vector))
    order = [h.id for h in avoided]
    assert order.index(most_like) >= rest.index(most_like) and order != rest  # pushed down, not kept in place


def test_a_saved_search_replays_with_its_filters(lib):
    lib.collections.save_search("board", "pleural effusion", where={"body_part": "CHEST"}, k=5)
    item = next(i for i in lib.collections.items("board") if i.search)
    replayed = lib.collections.replay("board", item.id)
    assert len(replayed) == 5 and all(h.metadata["body_part"] == "CHEST" for h in replayed)
    with pytest.raises(ValueError, match="text or a library image id"):
        lib.collections.save_search("board", b"\x89PNG")


def test_removing_items_and_collections(lib):
    ids = [h.id for h in lib.search("nodule", k=2)]
    lib.collections.add("set", ids)
    first = lib.collections.items("set")[0]
    assert lib.collections.remove("set", first.id) and not lib.collections.remove("set", first.id)
    assert lib.collections.image_ids("set") == ids[1:]
    assert lib.collections.delete("set") == 1 and lib.collections.list() == []


def test_marks_are_kept_per_query_and_user_and_the_latest_wins(lib):
    hits = lib.search("pleural effusion", k=4)
    with acting_as("dr.ada"):
        lib.feedback.mark("pleural effusion", hits[0].id, True)
        lib.feedback.mark("pleural effusion", hits[1].id, True)
        lib.feedback.mark("pleural effusion", hits[1].id, False)
        assert lib.feedback.marks("pleural effusion") == {hits[0].id: True, hits[1].id: False}
        assert lib.feedback.marks("nodule") == {}
    with acting_as("dr.bo"):
        assert lib.feedback.marks("pleural effusion") == {}  # another reader's marks are theirs
        assert lib.feedback.marks("pleural effusion", everyone=True)
    assert [a.action for a in lib.audit_log(user="dr.ada")][:1] == ["judge_not_relevant"]


def test_a_result_marked_not_relevant_drops_and_its_likes_follow(lib):
    query = "pleural effusion"
    before = lib.feedback.search(query, k=12)
    rejected = before[0].id
    lib.feedback.mark(query, rejected, False)
    after = lib.feedback.search(query, k=12)
    assert rejected not in [h.id for h in after[:6]]
    assert [h.id for h in after] != [h.id for h in before]


def test_a_result_marked_relevant_brings_cases_like_it_up(lib):
    query = "chest radiograph"
    before = lib.feedback.search(query, k=20)
    liked = before[-1]  # the 20th: the reader says this is what they meant
    lib.feedback.mark(query, liked.id, True)
    after = lib.feedback.search(query, k=20)
    like_it = {h.id for h in lib.search(liked.id, k=10)}
    assert len(like_it & {h.id for h in after[:10]}) > len(like_it & {h.id for h in before[:10]})
    cleared = lib.feedback.mark(query, liked.id, None)
    assert cleared is None and [h.id for h in lib.feedback.search(query, k=20)] == [h.id for h in before]
