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
