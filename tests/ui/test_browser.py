"""The UI in a real browser: `radsearch ui` on the demo library, driven by Playwright through Chromium.

Skipped, with the reason, where Chromium or Playwright is missing (.ci/run installs both). The
screenshots go to $RADSEARCH_SCREENSHOTS (CI: docs/screenshots/) when they differ visibly from
the ones there, else to the test's temporary folder.
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
def ui_url(demo_dir, tmp_path_factory):
    """`radsearch ui` on the demo library, on a free port of 127.0.0.1, until the module's tests end."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = open(tmp_path_factory.mktemp("ui") / "ui.log", "w")  # noqa: SIM115 - closed at teardown
    server = subprocess.Popen([sys.executable, "-m", "radsearch.cli", "ui", "--library", str(demo_dir / "library"),
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
                    raise RuntimeError(f"radsearch ui did not start: see {log.name}") from None
                time.sleep(0.5)
        yield url
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=30)
        log.close()


def _save(page, name: str, tmp_path: Path) -> Path:  # noqa: ANN001
    """Screenshot to $RADSEARCH_SCREENSHOTS/NAME when it differs visibly from the one there."""
    shot = tmp_path / name
    page.screenshot(path=str(shot), full_page=False)
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
        arg=count, timeout=60_000)


def test_text_search_then_a_result_side_by_side_in_a_real_browser(browser, ui_url, tmp_path):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(ui_url, wait_until="networkidle")
    page.get_by_role("tab", name="Search by text").click()
    box = page.get_by_label("Describe the finding")
    box.fill("pleural effusion")
    box.press("Enter")
    page.get_by_text("Images matching “pleural effusion”").wait_for(timeout=60_000)
    _wait_for_images(page, 12)
    cards = page.locator("p", has_text=re.compile("findings: "))  # one per card (case-sensitive: not FINDINGS:)
    assert cards.count() == 12
    shown = " ".join(cards.all_inner_texts())
    assert shown.count("pleural_effusion") >= 8  # what the reader sees: effusion cases first
    assert page.get_by_text("matched:").count() >= 8  # each with the sentence of its report that matched
    search_shot = _save(page, "search.png", tmp_path)

    page.locator("button", has_text=re.compile(r"^Open$")).first.click()
    page.get_by_text("Library image").first.wait_for(timeout=60_000)
    page.get_by_text("Window").first.wait_for()
    _wait_for_images(page, 13)
    assert page.get_by_text("Query: pleural effusion").count() == 1
    assert page.locator("button", has_text=re.compile(r"^Close$")).count() >= 1
    detail_shot = _save(page, "detail.png", tmp_path)
    for shot in (search_shot, detail_shot):
        pixels = np.asarray(Image.open(shot).convert("L"), float)
        assert pixels.std() > 20, f"{shot.name} is blank"  # headless Chromium painted the page
    page.close()
