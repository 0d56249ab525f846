"""SIGKILL the indexer at random moments, re-run it: the library ends as if nothing had happened."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import faiss
import numpy as np
import pytest
from sqlalchemy import select

from radsearch import index
from radsearch.datasets import generate_archive
from radsearch.storage import LibraryStore
from radsearch.storage.integrity import check_library
from radsearch.storage.schema import Image, Report, Study


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    root = tmp_path_factory.mktemp("crash-archive")
    generate_archive(root, studies=40, seed=5, progress=False)
    return root


def _index_command(archive, library, model) -> list[str]:
    return [sys.executable, "-m", "radsearch.cli", "index", str(archive), "--library", str(library),
            "--model", str(model), "--batch-size", "4"]


def _snapshot(library) -> dict:
    """Everything a user could notice: images with their facts and vectors, reports, FAISS, previews."""
    store = LibraryStore.open(library)
    with store.catalog.session() as s:
        images = {(i.content_hash, i.frame): (i.path, i.study.study_key, sorted(label.name for label in i.labels),
                                              np.frombuffer(i.embedding, np.float32))
                  for i in s.scalars(select(Image))}
        reports = {r.study.study_key: (r.text, np.frombuffer(r.embedding, np.float32),
                                       [sentence.text for sentence in r.sentences])
                   for r in s.scalars(select(Report))}
        studies = sorted(s.scalars(select(Study.study_key)))
    for kind in ("images", "reports", "sentences"):  # the files on disk, before any re-sync could hide a gap
        on_disk = faiss.read_index(str(library / "vectors" / f"{kind}.faiss"))
        assert on_disk.ntotal == store.catalog.count(kind), kind
    thumbs = {int(p.stem) for p in (library / "thumbs").glob("*.png")}
    assert thumbs == set(store.catalog.ids("images").tolist())
    return {"images": images, "reports": reports, "studies": studies}


def _same(a: dict, b: dict) -> None:
    assert a["studies"] == b["studies"]
    assert a["images"].keys() == b["images"].keys()
    for key, (path, study, labels, vector) in a["images"].items():
        other = b["images"][key]
        assert (path, study, labels) == other[:3]
        np.testing.assert_allclose(vector, other[3], atol=1e-5)  # batch composition moves the last bits
    assert a["reports"].keys() == b["reports"].keys()
    for key, (text, vector, sentences) in a["reports"].items():
        assert (text, sentences) == (b["reports"][key][0], b["reports"][key][2])
        np.testing.assert_allclose(vector, b["reports"][key][1], atol=1e-5)


def _wait_for_library(library, process, timeout: float = 120.0) -> float:
    """Block until the run has created its library (indexing is about to start); returns that moment."""
    deadline = time.time() + timeout
    while not (library / "radsearch.toml").is_file():
        if process.poll() is not None or time.time() > deadline:
            raise AssertionError(f"indexing into {library} never started")
        time.sleep(0.02)
    return time.time()


def _wait_for_images(library, process, at_least: int, timeout: float = 120.0) -> None:
    """Block until the run has committed `at_least` images (or has ended)."""
    catalog = LibraryStore.open(library).catalog
    deadline = time.time() + timeout
    try:
        while process.poll() is None and time.time() < deadline:
            if catalog.count("images") >= at_least:
                return
            time.sleep(0.01)
    finally:
        catalog.engine.dispose()


def test_sigkill_at_random_points_then_rerun_equals_an_uninterrupted_run(archive, tiny_model, tmp_path):
    process = subprocess.Popen(_index_command(archive, tmp_path / "reference", tiny_model),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    began = _wait_for_library(tmp_path / "reference", process)
    assert process.wait() == 0
    indexing = time.time() - began  # from the catalog's creation to the end of the run
    reference = _snapshot(tmp_path / "reference")
    total = len(reference["images"])
    rng = np.random.default_rng(7)
    killed_at = []
    for trial in range(5):
        library = tmp_path / f"killed-{trial}"
        process = subprocess.Popen(_index_command(archive, library, tiny_model), stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, start_new_session=True)
        _wait_for_library(library, process)
        if trial < 2:  # anywhere in the run, start-up included
            time.sleep(indexing * rng.uniform(0.0, 1.0))
        else:  # after some batches have committed, anywhere inside the next one
            _wait_for_images(library, process, int(rng.integers(1, total)))
            time.sleep(rng.uniform(0.0, 0.2))
        os.killpg(process.pid, signal.SIGKILL)  # the indexer and its decode workers, like a power cut
        process.wait()
        killed_at.append(LibraryStore.open(library).counts()["images"])
        after_kill = check_library(library)
        assert all(problem.repairable for problem in after_kill.problems), str(after_kill)  # nothing but derived data
        index(archive, library, progress=False)
        _same(_snapshot(library), reference)
        assert check_library(library).ok, str(check_library(library))
    print(f"killed with {killed_at} of {total} images committed")
    assert any(0 < n < total for n in killed_at), f"no kill landed mid-indexing: {killed_at} of {total}"
