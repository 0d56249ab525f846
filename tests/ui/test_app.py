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


def test_a_head_answers_on_every_result_and_open_shows_its_map(tiny_library, monkeypatch, tmp_path):
    import shutil

    from radsearch import open_library
    library = tmp_path / "with-head"
    shutil.copytree(tiny_library, library)
    open_library(library).heads.zero_shot("effusion", {"effusion": {"positive": ["pleural effusion"],
                                                                    "negative": ["no pleural effusion"]}})
    monkeypatch.setenv("RADSEARCH_LIBRARY", str(library))
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.sidebar.selectbox(key="head").set_value("effusion").run()
    at.text_input[0].input("pleural effusion").run()
    assert not at.exception
    answers = [c.value for c in at.caption if c.value.startswith("effusion: effusion ")]
    assert len(answers) == 12  # one per result card, with its probability
    opened = next(b.key for b in at.button if b.key and "-open-" in b.key)
    at.button(key=opened).click().run()
    assert not at.exception
    assert at.subheader[0].value.startswith(f"Library image {opened.rsplit('-', 1)[1]}")
    at.toggle(key="detail-overlay").set_value(True).run()
    assert not at.exception
    assert any(c.value == "where “pleural effusion” matches" for c in at.caption)
    at.button(key="close-detail").click().run()
    assert not any(s.value.startswith("Library image") for s in at.subheader)
    upload = Path(open_library(library).image(1).path)  # an indexed file, uploaded
    at.file_uploader[0].set_value((upload.name, upload.read_bytes(), "application/octet-stream")).run()
    assert not at.exception
    assert any(m.value.startswith("effusion: effusion ") for m in at.markdown)  # the upload's own answer


def test_open_shows_the_result_large_with_the_windows_its_dicom_stores(app):
    app.text_input[0].input("pleural effusion").run()
    dicom = next(b.key for b in app.button if b.key and "-open-" in b.key)
    app.button(key=dicom).click().run()
    assert not app.exception
    window = app.selectbox(key="detail-window")
    assert window.options and (window.options == ["as stored"] or window.options[0].startswith("centre "))
    before = len(app.get("image"))
    app.slider(key="detail-width").set_value(0.3).run()  # a narrower window re-renders the large image
    assert not app.exception and len(app.get("image")) == before


def test_findings_filter_and_grouping_by_study(app):
    app.sidebar.multiselect(key="filter-labels").set_value(["pleural_effusion"]).run()
    app.text_input[0].input("chest").run()
    cards = [m.value for m in app.markdown if "findings:" in m.value]
    assert cards and all("pleural_effusion" in card for card in cards)
    app.sidebar.radio(key="group").set_value("Studies").run()
    assert not app.exception
    assert app.subheader[0].value.startswith("Studies matching")
    cards = [m.value for m in app.markdown if "findings:" in m.value]
    assert cards and all("matching image" in card for card in cards)


def test_uploading_a_study_searches_and_drafts_with_citations(app, tiny_archive):
    from radsearch.datasets import read_manifest
    records = [r for r in read_manifest(tiny_archive / "manifest.csv") if r.body_part == "CHEST"]
    study = [r for r in records if r.study_id == records[0].study_id]
    files = [(Path(r.path).name, Path(r.path).read_bytes(), "application/octet-stream") for r in study]
    app.file_uploader[0].set_value(files).run()
    assert not app.exception
    assert any(s.value.startswith("Images similar to") for s in app.subheader)
    assert len([m for m in app.markdown if "findings:" in m.value]) == 12
    app.toggle(key="draft").set_value(True).run()
    assert not app.exception
    assert app.code and app.code[0].value.strip()  # the draft, in a block with a copy button


def test_an_oversized_upload_is_refused_by_name(app, monkeypatch):
    monkeypatch.setenv("RADSEARCH_MAX_UPLOAD_MB", "0.001")
    app.file_uploader[0].set_value(("big.png", b"\x89PNG" + b"0" * 2048, "image/png")).run()
    assert any("big.png is larger than" in e.value for e in app.error)


def test_library_page_shows_what_is_indexed_and_the_last_run(app):
    app.sidebar.radio(key="page").set_value("Library").run()
    assert not app.exception
    metrics = {m.label: m.value for m in app.metric}
    assert int(metrics["Images"]) > 0 and int(metrics["Reports"]) > 0
    assert any("Last run finished" in m.value for m in app.markdown)
    assert any("Model **" in m.value for m in app.markdown)
    assert len(app.dataframe) >= 4  # counts by body part, view, label, split ...


def test_curation_page_maps_every_image_and_lists_duplicates(app, tiny_library):
    from radsearch import open_library
    images = open_library(tiny_library).count()
    app.sidebar.radio(key="page").set_value("Curation").run()
    assert not app.exception
    app.selectbox(key="curation-check").set_value("Map and clusters").run()
    app.button(key="curation-run").click().run()
    assert not app.exception
    assert any(m.value == f"{images} rows" for m in app.markdown)
    assert len(app.dataframe) == 1 and len(app.dataframe[0].value) == images
    app.selectbox(key="curation-check").set_value("Duplicates").run()
    app.button(key="curation-run").click().run()
    assert not app.exception
    assert any(m.value.endswith(" rows") for m in app.markdown)


def test_an_upload_declaring_too_many_pixels_is_refused_by_name(app, monkeypatch):
    import io

    from PIL import Image
    buffer = io.BytesIO()
    Image.new("L", (4000, 3000)).save(buffer, format="PNG")  # 12 MP of zeros: a few KB on the wire
    monkeypatch.setenv("RADSEARCH_MAX_PIXELS", "10000000")
    app.file_uploader[0].set_value(("bomb.png", buffer.getvalue(), "image/png")).run()
    assert not app.exception
    assert any("bomb.png" in e.value and "over the limit" in e.value for e in app.error)


def test_the_served_ui_caps_upload_bodies_at_the_same_limit(monkeypatch, tiny_library):
    from radsearch.ui.server import streamlit_command
    monkeypatch.setenv("RADSEARCH_MAX_UPLOAD_MB", "5")
    command = streamlit_command(tiny_library, "127.0.0.1", 8599)
    assert command[command.index("--server.maxUploadSize") + 1] == "5"
    assert command[command.index("--server.address") + 1] == "127.0.0.1"


def test_a_registry_column_is_offered_as_a_filter_and_filters(app):
    """kVp was added to the column registry in one line (plus its migration): the sidebar offers it too."""
    kvp = app.sidebar.slider(key="filter-kvp")
    assert kvp.label == "kVp"
    low, high = kvp.value
    assert low < 100 < high  # extremities are exposed at 50-85 kV, chests at 110-130 (datasets.synthetic)
    kvp.set_value((100, high)).run()
    app.text_input[0].input("normal radiograph").run()
    assert not app.exception
    cards = [m.value for m in app.markdown if "findings:" in m.value]
    assert cards and all("· CHEST " in card for card in cards)


def test_dicom_results_link_into_the_configured_viewer(tiny_library, monkeypatch):
    monkeypatch.setenv("RADSEARCH_VIEWER_URL", "https://pacs.example/ohif/viewer?StudyInstanceUIDs={study_uid}")
    monkeypatch.setenv("RADSEARCH_LIBRARY", str(tiny_library))
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.text_input[0].input("pleural effusion").run()
    assert not at.exception
    links = at.get("link_button")
    assert links and all(link.proto.url.startswith("https://pacs.example/ohif/viewer?StudyInstanceUIDs=")
                         for link in links)
    assert len(links) < len(at.get("image"))  # PNG results have no UIDs, so no link
