"""How fast a search renders in the UI: query typed in Chromium to every result image painted, against the
same searches through the Python API in this process (the baseline: what the UI cannot beat).

Needs Playwright and Chromium (`apt-get install chromium`); starts `radsearch ui` on the demo library.

    python benchmarks/ui.py [--workdir DIR] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

from radsearch import open_library
from radsearch.demo import prepare_demo

QUERIES = ["pleural effusion", "cardiomegaly", "right pneumothorax", "nodule", "left lower consolidation",
           "normal chest radiograph", "knee", "effusion without pneumothorax"]
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PAINTED = """n => { const imgs = [...document.querySelectorAll('[data-testid="stImage"] img')];
                   return imgs.length >= n && imgs.every(i => i.complete && i.naturalWidth > 0); }"""


def start_ui(library: Path) -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "radsearch.cli", "ui", "--library", str(library),
                               "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    for _ in range(180):
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2):
                return server, url
        except OSError:
            time.sleep(0.5)
    raise RuntimeError("radsearch ui did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=None, help="reuse or keep the demo build here")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--chromium", default=os.environ.get("RADSEARCH_CHROMIUM", "/usr/bin/chromium"))
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="radsearch-bench-"))
    library = prepare_demo(workdir, echo=lambda _: None)

    lib = open_library(library)
    lib.search.text("warm up", 12)
    api = []
    for _ in range(args.repeats):
        for query in QUERIES:
            started = time.perf_counter()
            lib.search.text(query, 12)
            api.append(time.perf_counter() - started)

    server, url = start_ui(library)
    browser_times = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=args.chromium, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(url, wait_until="networkidle")
            page.get_by_role("tab", name="Search by text").click()
            box = page.get_by_label("Describe the finding")
            for repeat in range(args.repeats + 1):  # the first round warms the caches and is not counted
                for query in QUERIES:
                    box.fill(query)
                    started = time.perf_counter()
                    box.press("Enter")
                    page.get_by_text(f"Images matching “{query}”").wait_for(timeout=60_000)
                    page.wait_for_function(PAINTED, arg=12, timeout=60_000)
                    if repeat:
                        browser_times.append(time.perf_counter() - started)
            browser.close()
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=30)

    def p(values: list[float], q: float) -> float:
        return sorted(values)[min(len(values) - 1, int(q * len(values)))]
    ui_p50, api_p50 = statistics.median(browser_times), statistics.median(api)
    print(f"{len(browser_times)} text searches, 12 results each, on {lib.stats()['images']} images")
    print(f"API (baseline)   p50 {api_p50 * 1000:7.1f} ms   p90 {p(api, 0.9) * 1000:7.1f} ms")
    print(f"UI in Chromium   p50 {ui_p50 * 1000:7.1f} ms   p90 {p(browser_times, 0.9) * 1000:7.1f} ms   "
          f"max {max(browser_times) * 1000:7.1f} ms")
    print(f"UI / API: {ui_p50 / api_p50:.1f}x; under one second: {sum(t < 1 for t in browser_times)}"
          f"/{len(browser_times)}")


if __name__ == "__main__":
    main()
