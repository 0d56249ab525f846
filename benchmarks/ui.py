"""The reading room's speed as a reader feels it: `radsearch ui` driven by Chromium (Playwright), beside the
Python API doing the same work in the same run, on the demo library and on a library of 10^5 images.

Timed, each `--runs` times (median and worst, ms):
  first results   a shared link (?q=...) opened in a new tab until the 12 result thumbnails are drawn
                  (Streamlit's session start, the search, the cards);  peer: Library.search(text, k=12)
  next query      another text typed into the open page until its 12 thumbnails are drawn;  peer: the same
  compare         "Compare" on the first card until both panes are drawn at full resolution;  peer: the
                  result's original read at full range plus the viewer's encoding (viewer.encode_pixels)
  next result     Right arrow in the compare view until the second result is drawn;  peer: the same read

The 10^5 library is built without the encoder (benchmarks/library_scale.py's generator), its images pointing
at a pool of real 2048x2048 DICOMs so that the compare view opens originals as it would in a hospital.

    python benchmarks/ui.py [--demo DIR] [--n 100000] [--scale-library DIR] [--runs 5]

Needs Chromium (Debian's `chromium`) and the test extra's Playwright; without them it says so and exits 0.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

import numpy as np
from library_scale import build

from radsearch import open_library
from radsearch.datasets.synthetic import render, write_dicom
from radsearch.imaging import FULL_RANGE, read_frame

CHROMIUM = os.environ.get("RADSEARCH_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
QUERIES = ("pleural effusion", "pneumothorax", "nodule", "cardiomegaly", "consolidation", "fracture")
POOL = 24  # real DICOMs the 10^5 library's images point at
K = 12
WAIT_MS = 120_000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(library: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "radsearch.cli", "ui", "--library", str(library), "--port",
                               str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2):
                return server, url
        except OSError:
            if server.poll() is not None or time.time() > deadline:
                raise RuntimeError("radsearch ui did not start") from None
            time.sleep(0.5)


def thumbnails_drawn(page, text: str) -> None:  # noqa: ANN001
    page.get_by_text(f"Images matching “{text}”").wait_for(timeout=WAIT_MS)
    page.wait_for_function(
        """n => { const imgs = [...document.querySelectorAll('[data-testid="stImage"] img')];
                  return imgs.length >= n && imgs.every(i => i.complete && i.naturalWidth > 0); }""",
        arg=K, timeout=WAIT_MS)


def viewer_drawn(page, title: str) -> None:  # noqa: ANN001
    page.get_by_text(title).wait_for(timeout=WAIT_MS)
    page.locator('[data-testid="rs-viewer"][data-ready="true"]').wait_for(timeout=WAIT_MS)


def browser_times(browser, url: str, runs: int) -> dict[str, list[float]]:  # noqa: ANN001
    times: dict[str, list[float]] = {"first results": [], "next query": [], "compare": [], "next result": []}
    for run in range(runs):
        text, other = QUERIES[run % len(QUERIES)], QUERIES[(run + 1) % len(QUERIES)]
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        link = f"{url}/?tab={urllib.parse.quote('Search by text')}&q={urllib.parse.quote(text)}&k={K}"
        started = time.perf_counter()
        page.goto(link)
        thumbnails_drawn(page, text)
        times["first results"].append(time.perf_counter() - started)
        box = page.get_by_label("Describe the finding")
        box.fill(other)
        started = time.perf_counter()
        box.press("Enter")
        thumbnails_drawn(page, other)
        times["next query"].append(time.perf_counter() - started)
        started = time.perf_counter()
        page.get_by_role("button", name="Compare").first.click()
        viewer_drawn(page, f"Compare · Result 1 of {K}")
        times["compare"].append(time.perf_counter() - started)
        page.mouse.click(5, 995)
        started = time.perf_counter()
        page.keyboard.press("ArrowRight")
        viewer_drawn(page, f"Compare · Result 2 of {K}")
        times["next result"].append(time.perf_counter() - started)
        page.close()
    return times


def api_times(library: Path, runs: int) -> dict[str, list[float]]:
    from radsearch.ui.viewer import encode_pixels  # what the compare view sends the browser
    lib = open_library(library)
    lib.search(QUERIES[0], k=K)  # the encoder loaded, as the served app has it
    times: dict[str, list[float]] = {"first results": [], "next query": [], "compare": [], "next result": []}
    for run in range(runs):
        for row, text in (("first results", QUERIES[run % len(QUERIES)]),
                          ("next query", QUERIES[(run + 1) % len(QUERIES)])):
            started = time.perf_counter()
            hits = lib.search(text, k=K)
            times[row].append(time.perf_counter() - started)
        for row, hit in (("compare", hits[0]), ("next result", hits[1])):
            started = time.perf_counter()
            record = lib.image(hit.id)
            encode_pixels(read_frame(record.path, record.frame, voi_preset=FULL_RANGE).pixels)
            times[row].append(time.perf_counter() - started)
    return times


def dicom_pool(folder: Path) -> list[str]:
    """Real 2048x2048 DICOMs of the synthetic generator's anatomies, for the generated library to point at."""
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for n in range(POOL):
        anatomy, view = (("CHEST", "PA"), ("KNEE", "AP"), ("HAND", "PA"), ("PELVIS", "AP"))[n % 4]
        path = folder / f"pool-{n}.dcm"
        if not path.is_file():
            pixels = render(rng, anatomy, view, size=(2048, 2048)).pixels
            write_dicom(pixels, path, {"PatientID": f"POOL{n}", "BodyPartExamined": anatomy})
        paths.append(str(path))
    return paths


def report(name: str, images: int, browser: dict, api: dict) -> None:
    print(f"\n{name}: {images:,} images, medians (worst) in ms over {len(browser['compare'])} runs")
    print(f"{'':<16}{'Chromium (UI)':>22}{'Python API':>20}")
    for row in browser:
        b, a = np.array(browser[row]) * 1e3, np.array(api[row]) * 1e3
        print(f"{row:<16}{statistics.median(b):>12.0f} ({b.max():>6.0f}){statistics.median(a):>12.1f} "
              f"({a.max():>5.1f})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--demo", type=Path, default=Path("radsearch-demo"), help="a demo built by `radsearch demo`")
    parser.add_argument("--n", type=int, default=100_000, help="images of the generated library (0: skip it)")
    parser.add_argument("--scale-library", type=Path, help="where to build (and keep) the generated library")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print("skipped: Playwright is not installed (pip install -e '.[test]')")
        return 0
    if not Path(CHROMIUM).is_file():
        print(f"skipped: no Chromium at {CHROMIUM} (apt-get install chromium, or set RADSEARCH_CHROMIUM)")
        return 0
    if not (args.demo / "library" / "radsearch.toml").is_file():
        from radsearch.demo import prepare_demo
        prepare_demo(args.demo, echo=print)
    libraries = [("demo library", args.demo / "library")]
    with tempfile.TemporaryDirectory() as folder:
        if args.n:
            root = args.scale_library or Path(folder) / "scale"
            if not (root / "radsearch.toml").is_file():
                files = dicom_pool(root.parent / f"{root.name}-dicoms")
                seconds = build(root, args.n, "sqlite", files=files)
                print(f"built {args.n:,} images in {seconds:.0f} s")
            libraries.append((f"generated library ({args.n:,} images)", root))
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            for name, library in libraries:
                server, url = serve(library)
                try:
                    browser_figures = browser_times(browser, url, args.runs)
                finally:
                    os.killpg(server.pid, 15)
                    server.wait(timeout=30)
                report(name, open_library(library).count(), browser_figures, api_times(library, args.runs))
            browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
