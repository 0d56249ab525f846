"""A full disk: indexing stops with one clear line, what was committed before stays searchable, and the
same command finishes the job once there is room again."""

from __future__ import annotations

import os
import subprocess

import pytest
from click.testing import CliRunner

from radsearch import open_library
from radsearch.cli import main
from radsearch.datasets import generate_archive
from radsearch.storage import LibraryStore
from radsearch.storage.integrity import check_library

DISK_MB = 16  # the tiny model (6.5 MB) and a first library fit; the filler then takes all but FREE_KB
FREE_KB = 48


@pytest.fixture()
def small_disk(tmp_path):
    """A 16 MB tmpfs: a real file system that runs out of space (needs root; skipped, visibly, without)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={DISK_MB}m", "tmpfs", str(mount)],
                          capture_output=True, text=True) if os.geteuid() == 0 else None
    if made is None or made.returncode != 0:
        why = made.stderr.strip() if made else "not root"
        pytest.skip(f"full-disk test skipped: cannot mount a small tmpfs here ({why})")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(mount, leave_kb: int):
    stat = os.statvfs(mount)
    free = stat.f_bavail * stat.f_frsize
    filler = mount / "filler"
    with open(filler, "wb") as fh:
        fh.write(b"\0" * max(0, free - leave_kb * 1024))
    return filler


def test_a_full_disk_stops_indexing_clearly_and_loses_nothing(small_disk, tiny_model, tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    generate_archive(first, studies=6, seed=11, progress=False)
    generate_archive(second, studies=10, seed=12, progress=False)
    library = small_disk / "library"
    runner = CliRunner()
    made = runner.invoke(main, ["index", str(first), "--library", str(library), "--model", str(tiny_model),
                                "--workers", "0"])
    assert made.exit_code == 0, made.output
    indexed = LibraryStore.open(library).counts()["images"]
    before = [hit.id for hit in open_library(library).search.text("pleural effusion", k=5)]

    filler = _fill(small_disk, FREE_KB)
    full = runner.invoke(main, ["index", str(second), "--library", str(library), "--workers", "0"])
    assert full.exit_code == 1
    assert "no space left" in full.output and "Traceback" not in full.output, full.output

    store = LibraryStore.open(library)  # still opens, still answers, nothing committed before is gone
    assert store.counts()["images"] >= indexed
    after = open_library(library).search.text("pleural effusion", k=5)
    assert set(before) <= {hit.id for hit in open_library(library).search.text("pleural effusion", k=50)}
    assert len(after) == 5
    report = check_library(library)
    assert all(problem.repairable for problem in report.problems), str(report)

    filler.unlink()  # room again: the same command completes the library
    done = runner.invoke(main, ["index", str(second), "--library", str(library), "--workers", "0"])
    assert done.exit_code == 0, done.output
    expected = indexed + sum(1 for p in second.rglob("*") if p.suffix in (".dcm", ".png"))
    assert LibraryStore.open(library).counts()["images"] == expected
    assert check_library(library).ok, str(check_library(library))
