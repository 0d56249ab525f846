"""A small library of this folder's own (SQLite, never shared with other tests) that each test may damage."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from radsearch import index


@pytest.fixture(scope="module")
def pristine_library(tiny_archive, tiny_model, tmp_path_factory) -> Path:
    library = tmp_path_factory.mktemp("reliability") / "library"
    index(tiny_archive, library, tiny_model, progress=False, workers=0)
    return library


@pytest.fixture()
def library(pristine_library, tmp_path) -> Path:
    """A fresh copy of the module's library, its catalog checkpointed as when every process has closed it."""
    copy = Path(shutil.copytree(pristine_library, tmp_path / "library"))
    with sqlite3.connect(copy / "catalog.sqlite") as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()
    (copy / "catalog.sqlite-wal").unlink(missing_ok=True)
    return copy
