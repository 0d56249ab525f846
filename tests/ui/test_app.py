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


@pytest.fixture()
def own_app(tiny_library, monkeypatch, tmp_path) -> AppTest:
    """The app on a private copy of the tiny library, for tests that keep something in it."""
    import shutil
    library = tmp_path / "library"
    shutil.copytree(tiny_library, library)
    monkeypatch.setenv("RADSEARCH_LIBRARY", str(library))
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert not at.exception
    return at


def text_search(at: AppTest, text: str) -> AppTest:
    """Type a finding on the text tab, as a reader does."""
    at.session_state["tab"] = "Search by text"
    return at.text_input(key="q").input(text).run()


def cards(at: AppTest) -> list[str]:
    """Each result card's first line ("**#1** · 0.912 · CHEST · PA"), in rank order."""
    found = [m.value for m in at.markdown if m.value.startswith("**#")]
    return sorted(found, key=lambda line: int(line[3:line.index("**", 3)]))


def test_text_search_shows_cards_with_rank_score_view_findings_and_the_sentence_that_matched(app):
    text_search(app, "pleural effusion")
    assert not app.exception
    assert any(s.value == "Images matching “pleural effusion”" for s in app.subheader)
    assert len(cards(app)) == 12 == len(app.get("image"))  # the default number of results, each with its picture
    parts = {"CHEST", "HAND", "KNEE", "PELVIS"}  # the synthetic anatomies: every card names its view's anatomy
    assert all(any(f" · {part}" in card for part in parts) for card in cards(app))
    compares = [b for b in app.button if b.label == "Compare"]
    assert len(compares) == 12 and all(b.proto.type == "primary" for b in compares)  # one clear primary action
    assert any("effusion" in m.value and m.value.startswith("“") for m in app.markdown)  # the matched sentence
    assert any("-badge[" in m.value for m in app.markdown)  # the findings as chips


def test_similar_searches_by_that_result_and_new_search_returns(app):
    text_search(app, "nodule")
    first = cards(app)[0]
    similar = next(b for b in app.button if b.label == "Similar")
    image_id = int(similar.key.rsplit("-", 1)[1])
    similar.click().run()
    assert not app.exception
    assert app.subheader[0].value == f"Images similar to library image {image_id}"
    # the chosen image and the rest of its patient are left out: no result is the image itself (score 1.000)
    assert not cards(app)[0].startswith("**#1** · 1.000") and cards(app)[0] != first
    app.button(key="close-similar").click().run()
    assert not any("similar to library image" in s.value for s in app.subheader)


def test_body_part_filter_limits_results(app):
    options = app.sidebar.multiselect[0].options
    part = next(o for o in options if o != "CHEST")
    app.sidebar.multiselect[0].set_value([part]).run()
    text_search(app, "normal radiograph")
    assert cards(app) and all(f" · {part}" in card for card in cards(app))


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
    text_search(at, "nodule")
    assert not at.exception
    assert len(at.get("image")) == 12  # one image per result, decoded from the original files


def test_start_page_shows_the_search_controls_and_nothing_stray(tiny_library, monkeypatch, tmp_path):
    import shutil
    library = tmp_path / "fresh"  # a path the resource cache has not seen: the first load must render cleanly
    shutil.copytree(tiny_library, library)
    monkeypatch.setenv("RADSEARCH_LIBRARY", str(library))
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert at.sidebar.title[0].value == "radsearch"
    assert at.get("file_uploader") and at.text_input and [t.label for t in at.tabs] == ["Search by image",
                                                                                         "Search by text"]
    assert at.sidebar.radio(key="page").options == ["Search", "Collections", "Library", "Curation"]
    assert not at.get("help_info")  # no object dumped onto the page by Streamlit's "magic"


def test_a_head_answers_on_every_result_and_maps_them_in_the_compare_view(tiny_library, monkeypatch, tmp_path):
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
    text_search(at, "pleural effusion")
    assert not at.exception
    answers = [c.value for c in at.caption if c.value.startswith("effusion: effusion ")]
    assert len(answers) == 12  # one per result card, with its probability
    next(b for b in at.button if b.label == "Compare").click().run()
    assert not at.exception and at.subheader[0].value == "Compare · Result 1 of 12"
    at.button(key="compare-overlay-key").click().run()  # the O key
    assert not at.exception
    assert [b.label for b in at.button if b.key == "compare-overlay-key"] == ["Overlay on"]
    upload = Path(open_library(library).image(1).path)  # an indexed file, uploaded
    at.button(key="close-view").click().run()
    at.session_state["tab"] = "Search by image"
    from radsearch.heads.registry import HeadRegistry
    predictions = []
    predict = HeadRegistry.predict
    monkeypatch.setattr(HeadRegistry, "predict",
                        lambda self, *a, **kw: predictions.append(a) or predict(self, *a, **kw))
    at.file_uploader[0].set_value((upload.name, upload.read_bytes(), "application/octet-stream")).run()
    assert not at.exception
    assert any(c.value.startswith("effusion: effusion ") and c.value.count("effusion") == 2 for c in at.caption)
    at.run()  # a rerun (a mark, a toggle) shows the same answer without decoding and embedding the upload again
    assert any(c.value.startswith("effusion: effusion ") and c.value.count("effusion") == 2 for c in at.caption)
    assert len(predictions) == 1


def test_compare_steps_through_the_results_and_opens_the_study(app):
    text_search(app, "pleural effusion")
    ranked = [b.key for b in app.button if b.label == "Compare"]
    first = min(ranked, key=lambda key: int(key.split("-")[1]))
    app.button(key=first).click().run()
    assert not app.exception and app.subheader[0].value == "Compare · Result 1 of 12"
    assert app.button(key="compare-previous").disabled  # nothing before the first result
    app.button(key="compare-next").click().run()  # the Right key
    assert app.subheader[0].value == "Compare · Result 2 of 12"
    app.button(key="compare-previous").click().run()  # the Left key
    assert app.subheader[0].value == "Compare · Result 1 of 12"
    assert any("IMPRESSION" in m.value for m in app.markdown)  # the result's report, shown by default
    app.button(key="compare-report-key").click().run()  # the T key hides it
    assert not any("IMPRESSION" in m.value for m in app.markdown)
    app.button(key="compare-study").click().run()
    assert not app.exception and app.subheader[0].value.startswith("Study ")
    assert any(m.value == "**The patient's other studies in this library**" for m in app.markdown)
    assert any("own patient" in c.value for c in app.caption)  # why they are not among the results
    app.button(key="close-view").click().run()  # Esc
    assert cards(app) and not any(s.value.startswith(("Compare", "Study")) for s in app.subheader)


def test_findings_filter_and_grouping_by_study(app):
    app.sidebar.multiselect(key="filter-labels").set_value(["pleural_effusion"]).run()
    text_search(app, "chest")
    assert cards(app)
    assert all("pleural effusion" in m.value for m in app.markdown if "-badge[" in m.value and "effusion" in m.value)
    app.sidebar.radio(key="group").set_value("Studies").run()
    assert not app.exception
    assert app.subheader[0].value.startswith("Studies matching")
    assert cards(app) and all("matching image" in card for card in cards(app))


def test_uploading_a_study_searches_and_a_draft_that_abstains_says_why(app, tiny_archive):
    from radsearch.datasets import read_manifest
    records = [r for r in read_manifest(tiny_archive / "manifest.csv") if r.body_part == "CHEST"]
    study = [r for r in records if r.study_id == records[0].study_id]
    files = [(Path(r.path).name, Path(r.path).read_bytes(), "application/octet-stream") for r in study]
    app.file_uploader[0].set_value(files).run()
    assert not app.exception
    assert any(s.value.startswith("Images similar to") for s in app.subheader)
    assert len(cards(app)) == 12
    app.toggle(key="draft").set_value(True).run()
    assert not app.exception
    # the one-epoch model's neighbours disagree (the demo's agree: tests/ui/test_browser.py drafts and follows a
    # citation); the reader is told that no draft was made, and why
    assert any(w.value.startswith("NO DRAFT: the most similar cases disagree") and "nodule" in w.value
               for w in app.warning)
    assert not app.text_area


def test_a_case_saved_to_a_collection_is_listed_and_searched_with(own_app):
    app = own_app
    text_search(app, "pleural effusion")
    first = min((b.key for b in app.button if b.label == "Compare"), key=lambda key: int(key.split("-")[1]))
    n, image_id = first.split("-")[1:]
    app.button(key=f"save-{n}-{image_id}").click().run()  # opens the dialog
    app.text_input(key="save-name").input("teaching file").run()
    app.text_input(key="save-note").input("classic").run()
    app.button(key="save-submit").click().run()
    assert not app.exception
    assert any(m.value == "1 case saved to teaching file." for m in app.success)
    app.sidebar.radio(key="page").set_value("Collections").run()
    assert not app.exception
    assert app.selectbox(key="collection-shown").value == "teaching file"
    assert any("classic" in c.value for c in app.caption)
    assert app.get("download_button")  # exported as a manifest
    app.button(key="more-like").click().run()
    assert not app.exception
    assert app.sidebar.radio(key="page").value == "Search"
    assert app.subheader[0].value == "Images like the cases of “teaching file”"
    assert cards(app)


def test_relevance_marks_are_kept_and_re_rank_the_query(own_app):
    import os

    from radsearch import open_library
    app = own_app
    text_search(app, "nodule")
    before = cards(app)
    marks = [g for g in app.get("button_group") if g.key and g.key.startswith("mark-")]
    assert len(marks) == 12
    worst = min(marks, key=lambda g: int(g.key.split("-")[1]))  # the first result, marked not relevant
    worst.set_value("Not relevant").run()
    assert not app.exception
    judged = open_library(os.environ["RADSEARCH_LIBRARY"]).feedback.judged()
    assert [(j.query, j.image_id, j.relevant) for j in judged][-1] == ("text: nodule",
                                                                        int(worst.key.rsplit("-", 1)[1]), False)
    app.button(key="rerank").click().run()
    assert not app.exception
    assert any("Ranked with your 1 relevance mark" in c.value for c in app.caption)
    assert cards(app) != before


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
    text_search(app, "normal radiograph")
    assert not app.exception
    assert cards(app) and all(" · CHEST" in card for card in cards(app))


def test_dicom_results_link_into_the_configured_viewer(tiny_library, monkeypatch):
    monkeypatch.setenv("RADSEARCH_VIEWER_URL", "https://pacs.example/ohif/viewer?StudyInstanceUIDs={study_uid}")
    monkeypatch.setenv("RADSEARCH_LIBRARY", str(tiny_library))
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    text_search(at, "pleural effusion")
    assert not at.exception
    links = at.get("link_button")
    assert links and all(link.proto.url.startswith("https://pacs.example/ohif/viewer?StudyInstanceUIDs=")
                         for link in links)
    assert len(links) < len(at.get("image"))  # PNG results have no UIDs, so no link
