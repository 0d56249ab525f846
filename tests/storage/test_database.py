"""Where a catalog lives: SQLite in the library, or a PostgreSQL database per library."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from radsearch import index
from radsearch.cli import main
from radsearch.errors import CatalogUnavailable
from radsearch.storage.database import database_name, new_library_url


def test_an_unreachable_database_is_named_without_its_password_and_leaves_no_library(tiny_archive, tiny_model,
                                                                                     tmp_path):
    url = "postgresql://radsearch:s3cret@127.0.0.1:9/chest"  # port 9: nothing listens there
    with pytest.raises(CatalogUnavailable, match="127.0.0.1:9") as caught:
        index(tiny_archive, tmp_path / "lib", tiny_model, database_url=url, progress=False)
    assert "s3cret" not in str(caught.value)
    assert not (tmp_path / "lib").exists()
    result = CliRunner().invoke(main, ["index", str(tiny_archive), "--library", str(tmp_path / "lib"),
                                       "--model", str(tiny_model), "--database", url])
    assert result.exit_code != 0 and "cannot prepare the catalog database" in result.output
    assert "Traceback" not in result.output


def test_each_library_gets_its_own_valid_database_name(tmp_path, monkeypatch):
    names = {database_name(tmp_path / folder / "Chest Library") for folder in ("a", "b")}
    assert len(names) == 2
    assert all(len(n) <= 63 and n == n.lower() and n.replace("_", "").isalnum() for n in names)
    monkeypatch.setenv("RADSEARCH_DATABASE_URL", "postgresql://radsearch@db.example/postgres")
    url = new_library_url(tmp_path / "a" / "Chest Library")
    assert url.startswith("postgresql+psycopg://radsearch@db.example/radsearch_chest_library_")
    assert new_library_url(tmp_path / "x", explicit="sqlite:////srv/c.sqlite") == "sqlite:////srv/c.sqlite"
    monkeypatch.setenv("RADSEARCH_DATABASE_URL", "mysql://x@y/z")
    with pytest.raises(CatalogUnavailable, match="PostgreSQL"):
        new_library_url(tmp_path / "c")
