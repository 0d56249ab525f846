"""The Streamlit app, driven headless with AppTest."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import radsearch.ui

APP = str(Path(radsearch.ui.__file__).parent / "app.py")


@pytest.fixture()
def app(tiny_library, monkeypatch) -> AppTest:
    monkeypatch.setenv("RADSEARCH_LIBRARY", str(tiny_library))
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert not at.exception
    return at


def test_text_search_shows_results_with_scores_findings_and_reports(app):
    app.text_input[0].input("pleural effusion").run()
    assert not app.exception
    assert any("pleural effusion" in s.value for s in app.subheader)
    cards = [m.value for m in app.markdown if "findings:" in m.value]
    assert len(cards) == 12 == len(app.get("image"))  # the default number of results, each with its picture
    assert any("IMPRESSION" in m.value for m in app.markdown)  # report text in the expanders


def test_similar_button_searches_by_that_result_and_close_returns(app):
    app.text_input[0].input("nodule").run()
    first_card = next(m.value for m in app.markdown if "findings:" in m.value)
    app.button[0].click().run()
    assert not app.exception
    assert app.subheader[0].value.startswith("Images similar to library image")  # shown first, above the tabs
    # the chosen image and the rest of its patient are left out: no result is the image itself (score 1.000)
    top = next(m.value for m in app.markdown if "findings:" in m.value)  # the similar list is shown first
    assert not top.startswith("**1.000**") and top != first_card
    app.button(key="close-similar").click().run()
    assert not any("similar to library image" in s.value for s in app.subheader)


def test_body_part_filter_limits_results(app):
    options = app.sidebar.multiselect[0].options
    part = next(o for o in options if o != "CHEST")
    app.sidebar.multiselect[0].set_value([part]).run()
    app.text_input[0].input("normal radiograph").run()
    cards = [m.value for m in app.markdown if "findings:" in m.value]
    assert cards and all(f"· {part} " in card for card in cards)


def test_missing_library_shows_an_error_not_a_traceback(tmp_path, monkeypatch):
    monkeypatch.setenv("RADSEARCH_LIBRARY", str(tmp_path))
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert not at.exception and "not a radsearch library" in at.error[0].value


def test_result_without_a_thumbnail_still_shows_its_image(tiny_library, monkeypatch, tmp_path):
    import shutil
    library = tmp_path / "lib"
    shutil.copytree(tiny_library, library)
    shutil.rmtree(library / "thumbs")
    monkeypatch.setenv("RADSEARCH_LIBRARY", str(library))
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.text_input[0].input("nodule").run()
    assert not at.exception
    assert len(at.get("image")) == 12  # one image per result, decoded from the original files


def test_start_page_shows_the_search_controls_and_nothing_stray(tiny_library, monkeypatch, tmp_path):
    import shutil
    library = tmp_path / "fresh"  # a path the resource cache has not seen: the first load must render cleanly
    shutil.copytree(tiny_library, library)
    monkeypatch.setenv("RADSEARCH_LIBRARY", str(library))
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert at.title[0].value == "radsearch"
    assert at.get("file_uploader") and at.text_input and [t.label for t in at.tabs] == ["Search by image",
                                                                                         "Search by text"]
    assert not at.get("help_info")  # no object dumped onto the page by Streamlit's "magic"


def test_a_head_answers_on_every_result_and_where_shows_the_map(tiny_library, monkeypatch, tmp_path):
    import shutil

    from radsearch import open_library
    library = tmp_path / "with-head"
    shutil.copytree(tiny_library, library)
    open_library(library).heads.zero_shot("effusion", {"effusion": {"positive": ["pleural effusion"],
                                                                    "negative": ["no pleural effusion"]}})
    monkeypatch.setenv("RADSEARCH_LIBRARY", str(library))
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.sidebar.selectbox[0].set_value("effusion").run()
    at.text_input[0].input("pleural effusion").run()
    assert not at.exception
    answers = [c.value for c in at.caption if c.value.startswith("effusion: effusion ")]
    assert len(answers) == 12  # one per result card, with its probability
    at.button(key=next(b.key for b in at.button if b.key and "-where-" in b.key)).click().run()
    assert not at.exception
    assert at.subheader[0].value.startswith("Where “pleural effusion” matches in library image")
    assert len(at.get("image")) == 13  # the overlay above the 12 result cards
    at.button(key="close-explain").click().run()
    assert not any(s.value.startswith("Where") for s in at.subheader)
