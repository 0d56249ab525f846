"""Readers and the indexer at once: searches never fail, never see a half-written index, and running
readers find the studies the indexer adds."""

from __future__ import annotations

import subprocess
import sys

from radsearch import open_library
from radsearch.datasets import generate_archive
from radsearch.evaluation.load import run_load
from radsearch.storage import LibraryStore


def test_searches_during_indexing_all_succeed_and_see_the_new_studies(library, tiny_archive, tmp_path):
    more = tmp_path / "more"
    generate_archive(more, studies=8, seed=21, progress=False)
    before = LibraryStore.open(library).counts()["images"]
    images = [str(p) for p in sorted(tiny_archive.rglob("*.dcm"))[:4]]
    texts = ["left pleural effusion", "no pneumothorax", "hand fracture", "cardiomegaly without effusion"]

    def add_studies() -> None:
        subprocess.run([sys.executable, "-m", "radsearch.cli", "index", str(more), "--library", str(library),
                        "--batch-size", "4", "--workers", "0"], check=True, capture_output=True)

    report = run_load(library, images, texts, clients=2, k=5, during=add_studies, settle=3.0)
    after = LibraryStore.open(library).counts()["images"]
    print(report)
    assert after > before
    assert report.errors == [], report.errors[0]
    assert report.incomplete == 0
    assert report.queries >= 10
    assert all(last == after for _, last in report.images_seen), (report.images_seen, after)  # no restart needed
    assert len(open_library(library).audit_log(limit=100_000)) >= report.queries


HOLD_THE_WRITER_LOCK = """
import sys, time
from radsearch.storage import one_writer
with one_writer(sys.argv[1]):
    print("holding", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def _another_writer(library, seconds: float) -> subprocess.Popen:
    """A second process that holds the library's writer lock, as an index run in another terminal would."""
    holder = subprocess.Popen([sys.executable, "-c", HOLD_THE_WRITER_LOCK, str(library), str(seconds)],
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "holding"
    return holder


def test_a_second_writer_is_refused_with_the_reason_and_the_library_keeps_what_it_had(library, tmp_path):
    more = tmp_path / "more"
    generate_archive(more, studies=4, seed=22, progress=False)
    before = LibraryStore.open(library).counts()
    holder = _another_writer(library, 600)
    try:
        for verb in (["index", str(more)], ["remove", str(more)], ["rebuild"], ["repair"]):
            result = subprocess.run([sys.executable, "-m", "radsearch.cli", *verb, "--library", str(library)],
                                    capture_output=True, text=True)
            assert result.returncode == 1, (verb, result.stdout, result.stderr)
            assert "another radsearch process is writing to the library" in result.stderr + result.stdout
            assert "Traceback" not in result.stderr
        assert LibraryStore.open(library).counts() == before
    finally:
        holder.kill()
        holder.wait()
    added = subprocess.run([sys.executable, "-m", "radsearch.cli", "index", str(more), "--library", str(library),
                            "--workers", "0"], capture_output=True, text=True)
    assert added.returncode == 0, added.stderr  # a writer that died left no lock behind
    assert LibraryStore.open(library).counts()["images"] > before["images"]


def test_a_writer_that_may_wait_indexes_once_the_other_has_finished(library, tmp_path):
    more = tmp_path / "more"
    generate_archive(more, studies=2, seed=23, progress=False)
    before = LibraryStore.open(library).counts()["images"]
    holder = _another_writer(library, 2)
    summary = open_library(library).index(more, progress=False, workers=0, wait=None)  # as the DICOM listener does
    assert holder.wait() == 0
    assert summary.added > 0 and LibraryStore.open(library).counts()["images"] == before + summary.added
