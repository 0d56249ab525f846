"""The UI in a real browser: `radsearch ui` on (a copy of) the demo library, driven by Playwright through
Chromium, through each reading-room flow: upload and search, compare with linked window/level and keyboard
stepping, the study view, collections reused as examples, relevance marks re-ranking, a draft's citation
followed, the shared link, the dark theme, and a start-up that prints one line.

Skipped, with the reason, where Chromium or Playwright is missing (.ci/run installs both). Screenshots of
each view go to $RADSEARCH_SCREENSHOTS (CI: an artifact folder; docs/screenshots/ only when a developer
refreshes them on purpose, see docs/searching.md) when they differ visibly from the ones there, else to the
test's temporary folder.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

CHROMIUM = os.environ.get("RADSEARCH_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
CHANGED = 2.0  # mean absolute difference (0-255) above which a screenshot counts as changed
VIEWPORT = {"width": 1400, "height": 1000}
WAIT_MS = 60_000
GROUP_CARD = re.compile(r"^#\d+ · [\s\S]*matching image")  # a study's card: its first line, then its count


def expect(locator):  # noqa: ANN001, ANN201 - Playwright's assertions, which wait for the page to settle
    from playwright.sync_api import expect as playwright_expect
    return playwright_expect(locator)


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed (test extra)")
    if not Path(CHROMIUM).is_file():
        pytest.skip(f"no Chromium at {CHROMIUM}: install Debian's chromium (.ci/run does) or set RADSEARCH_CHROMIUM")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def served(demo_dir, tmp_path_factory):
    """`radsearch ui` on a copy of the demo library (these tests keep collections and marks in it), on a free
    port of 127.0.0.1, until the module's tests end; yields (url, library, log file)."""
    library = tmp_path_factory.mktemp("ui-library") / "library"
    shutil.copytree(demo_dir / "library", library)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log_path = tmp_path_factory.mktemp("ui") / "ui.log"
    log = open(log_path, "w")  # noqa: SIM115 - closed at teardown
    server = subprocess.Popen([sys.executable, "-m", "radsearch.cli", "ui", "--library", str(library),
                               "--port", str(port)], stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                if server.poll() is not None or time.time() > deadline:
                    raise RuntimeError(f"radsearch ui did not start: see {log_path}") from None
                time.sleep(0.5)
        yield url, library, log_path
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=30)
        log.close()


@pytest.fixture()
def page(browser, served):
    page = browser.new_page(viewport=VIEWPORT)
    yield page
    page.close()


def _save(page, name: str, tmp_path: Path) -> Path:  # noqa: ANN001
    """Screenshot to $RADSEARCH_SCREENSHOTS/NAME when it differs visibly from the one there."""
    shot = tmp_path / name
    page.screenshot(path=str(shot), full_page=False)
    pixels = np.asarray(Image.open(shot).convert("L"), float)
    assert pixels.std() > 10, f"{name} is blank"  # headless Chromium painted the page
    folder = os.environ.get("RADSEARCH_SCREENSHOTS")
    if folder:
        kept = Path(folder) / name
        if not kept.is_file() or _differs(shot, kept):
            kept.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(shot, kept)
    return shot


def _differs(a: Path, b: Path) -> bool:
    first, second = Image.open(a).convert("L"), Image.open(b).convert("L")
    if first.size != second.size:
        return True
    return float(np.abs(np.asarray(first, float) - np.asarray(second, float)).mean()) > CHANGED


def _wait_for_images(page, count: int) -> None:  # noqa: ANN001
    page.wait_for_function(
        """n => { const imgs = [...document.querySelectorAll('[data-testid="stImage"] img')];
                  return imgs.length >= n && imgs.every(i => i.complete && i.naturalWidth > 0); }""",
        arg=count, timeout=WAIT_MS)


def _cards(page) -> list[str]:  # noqa: ANN001
    """Each card's first line ("#1 · 0.912 · CHEST · PA"), in rank order."""
    lines = page.locator("p", has_text=re.compile(r"^#\d+ · ")).all_inner_texts()
    return sorted(lines, key=lambda line: int(line[1:line.index(" ")]))


def _text_search(page, url: str, text: str) -> None:  # noqa: ANN001
    page.goto(url, wait_until="networkidle")
    page.get_by_role("tab", name="Search by text").click()
    box = page.get_by_label("Describe the finding")
    box.fill(text)
    box.press("Enter")
    page.get_by_text(f"Images matching “{text}”").wait_for(timeout=WAIT_MS)
    _wait_for_images(page, 12)


def _viewer_ready(page, panes: int = 2) -> None:  # noqa: ANN001
    page.locator('[data-testid="rs-viewer"][data-ready="true"]').wait_for(timeout=WAIT_MS)
    expect(page.locator('[data-testid="rs-canvas"]')).to_have_count(panes, timeout=WAIT_MS)


def _viewer(page) -> dict[str, str]:  # noqa: ANN001
    root = page.locator('[data-testid="rs-viewer"]')
    return {name: root.get_attribute(f"data-{name}") for name in ("window", "zoom", "pan")}


def _demo_file(served, body_part: str) -> Path:  # noqa: ANN001
    """An indexed DICOM of the demo archive of this body part (the reader's own film, uploaded)."""
    from radsearch import open_library
    library = open_library(served[1])
    for hit in library.search("radiograph", k=200, where={"body_part": body_part}):
        if hit.path.endswith(".dcm"):
            return Path(hit.path)
    pytest.fail(f"the demo has no {body_part} DICOM")


def test_a_text_search_shows_cards_the_side_at_a_glance_and_the_dark_theme(page, served, tmp_path):
    _text_search(page, served[0], "left pleural effusion")
    cards = _cards(page)
    assert len(cards) == 12
    # each card: its findings as chips with their side; a finding on the other side than asked is flagged
    chips = page.locator(".stMarkdownBadge").all_inner_texts()
    assert sum(chip == "pleural effusion · left" for chip in chips) >= 6
    assert all(chip.startswith("⚠") and chip.endswith("≠ left") for chip in chips if "pleural effusion · right" in chip)
    expect(page.get_by_role("button", name="Compare")).to_have_count(12)  # one primary action per card
    background = page.evaluate("getComputedStyle(document.querySelector('.stApp')).backgroundColor")
    red, green, blue = (int(v) for v in re.findall(r"\d+", background)[:3])
    assert red + green + blue < 3 * 60, f"the reading-room theme is dark, not {background}"
    assert page.get_by_text("Deploy", exact=True).count() == 0  # the framework's developer chrome is hidden
    _save(page, "search.png", tmp_path)


def test_an_uploaded_image_searches_with_its_preview_beside_not_above_the_results(page, served, tmp_path):
    _upload_search(page, served)
    first_card = page.locator("p", has_text=re.compile(r"^#1 · ")).bounding_box()
    assert first_card["y"] + first_card["height"] < VIEWPORT["height"]  # results start above the fold
    _save(page, "search-image.png", tmp_path)


def _upload_search(page, served, body_part: str = "CHEST") -> None:  # noqa: ANN001
    page.goto(served[0], wait_until="networkidle")
    page.locator('input[type="file"]').set_input_files(str(_demo_file(served, body_part)))
    page.get_by_text(re.compile("^Images similar to ")).wait_for(timeout=WAIT_MS)
    _wait_for_images(page, 13)


def test_compare_links_window_zoom_and_pan_and_steps_through_results_by_keyboard(page, served, tmp_path):
    _upload_search(page, served)
    page.get_by_role("button", name="Compare").first.click()
    page.get_by_text("Compare · Result 1 of 12").wait_for(timeout=WAIT_MS)
    _viewer_ready(page)  # the query and the result, each from its original file
    start = _viewer(page)
    page.mouse.click(5, VIEWPORT["height"] - 5)  # focus the page, not a text box
    page.keyboard.press("ArrowUp")  # window level up, in both panes (one shared state)
    page.keyboard.press("Shift+ArrowUp")  # and wider
    page.keyboard.press("+")  # zoom in
    moved = _viewer(page)
    assert moved["window"] != start["window"] and float(moved["zoom"]) > 1
    canvases = page.locator('[data-testid="rs-canvas"]')
    box = canvases.nth(1).bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down(button="right")  # right-drag pans
    page.mouse.move(box["x"] + box["width"] / 2 + 40, box["y"] + box["height"] / 2 + 30, steps=4)
    page.mouse.up(button="right")
    assert _viewer(page)["pan"] != moved["pan"]
    _save(page, "compare.png", tmp_path)
    held = _viewer(page)
    page.keyboard.press("ArrowRight")  # the next result
    page.get_by_text("Compare · Result 2 of 12").wait_for(timeout=WAIT_MS)
    _viewer_ready(page)
    assert _viewer(page) == held  # the reader's window, zoom and pan go along
    page.keyboard.press("ArrowLeft")
    page.get_by_text("Compare · Result 1 of 12").wait_for(timeout=WAIT_MS)
    page.keyboard.press("Escape")
    page.get_by_text(re.compile("^Images similar to ")).wait_for(timeout=WAIT_MS)


def test_compare_beside_a_text_query_shows_where_it_matches(page, served):
    _text_search(page, served[0], "pleural effusion")
    page.get_by_role("button", name="Compare").first.click()
    page.get_by_text("Compare · Result 1 of 12").wait_for(timeout=WAIT_MS)
    _viewer_ready(page, panes=1)  # the query's words stand where an image would
    assert page.locator(".rs-words").inner_text() == "pleural effusion"
    page.mouse.click(5, VIEWPORT["height"] - 5)
    page.keyboard.press("o")  # "where it matches" over the result
    page.get_by_role("button", name="Overlay on").wait_for(timeout=WAIT_MS)
    expect(page.get_by_test_id("rs-readout")).to_contain_text("overlay", timeout=WAIT_MS)


def test_a_result_opens_as_its_study_with_every_view_and_the_report(page, served, tmp_path):
    from radsearch import open_library
    library = open_library(served[1])
    hits = library.search("pleural effusion", k=12)  # what the page shows, in its order
    n, hit = next((n, h) for n, h in enumerate(hits) if len(library.study_images(h.study_key)) >= 2)
    _text_search(page, served[0], "pleural effusion")
    page.locator(f".st-key-card-{n}").get_by_role("button", name="Study").click()
    page.get_by_text(f"Study {hit.study_key}").first.wait_for(timeout=WAIT_MS)
    _viewer_ready(page, panes=len(library.study_images(hit.study_key)))  # every view, from its original file
    expect(page.get_by_text(re.compile("patient.s other studies in this library"))).to_have_count(1)
    assert page.get_by_text("IMPRESSION").count() >= 1
    _save(page, "study.png", tmp_path)


def test_a_case_saved_to_a_collection_is_reused_as_examples(page, served, tmp_path):
    _text_search(page, served[0], "pneumothorax")
    page.locator(".st-key-card-0").get_by_role("button", name="Save", exact=True).click()  # the first card's
    form = page.get_by_role("dialog")
    form.get_by_label("Name").fill("teaching file")
    form.get_by_label("Note").fill("classic pneumothorax")
    form.get_by_role("button", name="Save", exact=True).click()
    form.get_by_text("1 case saved to teaching file.").wait_for(timeout=WAIT_MS)
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_have_count(0)
    page.get_by_text("Collections", exact=True).click()
    page.get_by_text("Cases (1)").wait_for(timeout=WAIT_MS)
    _save(page, "collections.png", tmp_path)
    page.get_by_role("button", name="More like these").click()
    page.get_by_text("Images like the cases of “teaching file”").wait_for(timeout=WAIT_MS)
    _wait_for_images(page, 12)
    assert len(_cards(page)) == 12


def test_relevance_marks_change_the_next_ranking(page, served):
    _text_search(page, served[0], "nodule")
    before = _cards(page)
    page.locator(".st-key-card-0").get_by_role("radio", name="Not relevant").click()  # the first result
    page.get_by_role("button", name=re.compile("^Re-rank with your 1 mark")).click()
    page.get_by_text("Ranked with your 1 relevance mark").wait_for(timeout=WAIT_MS)
    _wait_for_images(page, 12)
    assert _cards(page) != before


def test_a_draft_cites_its_studies_and_a_citation_opens_beside_the_query(page, served, tmp_path):
    _upload_search(page, served)
    page.get_by_text("Draft a report from similar cases").click()
    draft = page.get_by_label("Draft report (editable)")
    draft.wait_for(timeout=WAIT_MS)
    assert "IMPRESSION:" in draft.input_value()
    draft.fill(draft.input_value() + "\nEdited by the reader.")
    _save(page, "draft.png", tmp_path)
    citation = page.locator("button", has_text=re.compile(r"^SYN\d+"))
    cited = citation.first.inner_text()
    citation.first.click()
    page.get_by_text(re.compile("^Compare · ")).wait_for(timeout=WAIT_MS)
    assert page.get_by_text(f"study {cited}").count() >= 1
    _viewer_ready(page)


def test_copy_link_opens_the_same_results_for_a_colleague(browser, page, served):
    _text_search(page, served[0], "pleural effusion")
    page.get_by_text("Show").first.wait_for()
    page.get_by_text("Studies", exact=True).click()  # group by study: part of the link
    page.get_by_text("Studies matching “pleural effusion”").wait_for(timeout=WAIT_MS)
    expect(page.locator("p", has_text=GROUP_CARD)).to_have_count(12, timeout=WAIT_MS)
    mine = _cards(page)
    page.get_by_test_id("rs-copy-link").click()
    link = page.locator(".rs-link").get_attribute("data-link")
    assert link and "q=pleural" in link
    colleague = browser.new_page(viewport=VIEWPORT)
    colleague.goto(link, wait_until="networkidle")
    colleague.get_by_text("Studies matching “pleural effusion”").wait_for(timeout=WAIT_MS)
    expect(colleague.locator("p", has_text=GROUP_CARD)).to_have_count(12, timeout=WAIT_MS)
    assert _cards(colleague) == mine
    colleague.close()


def test_start_up_printed_one_line_and_no_framework_warnings(page, served):
    _text_search(page, served[0], "nodule")  # a session has run: Streamlit's warnings would be out by now
    lines = [line for line in Path(served[2]).read_text().splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("radsearch UI on http://127.0.0.1:"), lines
