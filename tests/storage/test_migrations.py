"""Catalog migrations: new and upgraded catalogs end with the schema storage/schema.py describes, and a library
written in format 3 (before migrations) opens, upgrades in place, keeps every row, and gets the new columns
for the images indexed after (on SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import tomli_w
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from click.testing import CliRunner
from sqlalchemy import MetaData, create_engine, inspect, select

from radsearch import index, open_library
from radsearch.cli import main
from radsearch.datasets.synthetic import render, write_dicom
from radsearch.errors import LibraryMismatch
from radsearch.storage import Catalog
from radsearch.storage.database import new_library_url, parse, prepare_database
from radsearch.storage.migrations import HEAD
from radsearch.storage.migrations.runner import BASELINE, _config
from radsearch.storage.schema import Base

FIXTURE = Path(__file__).parent / "fixtures" / "format3"
COPIED = ("studies", "series", "images", "reports", "sentences", "labels", "index_runs", "audit_log")  # its rows


def _schema_drift(engine) -> list:
    with engine.connect() as conn:
        return compare_metadata(MigrationContext.configure(conn), Base.metadata)


def _revision(engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def test_a_new_catalog_is_built_by_the_migrations_and_matches_the_code(tmp_path):
    url = prepare_database(new_library_url(tmp_path / "new")) or f"sqlite:///{tmp_path / 'c.sqlite'}"
    catalog = Catalog(url)
    assert _revision(catalog.engine) == HEAD
    assert _schema_drift(catalog.engine) == []  # every table, column, index and key, as schema.py says
    catalog.close()


def test_the_baseline_revision_is_the_schema_format_3_wrote():
    """What the baseline migration builds is what the format-3 code made with create_all (the fixture's DDL)."""
    written = sqlite3.connect(":memory:")
    written.executescript((FIXTURE / "catalog.sql").read_text())
    ours = create_engine("sqlite://")
    with ours.begin() as conn:
        from alembic import command
        command.upgrade(_config(conn), BASELINE)

    def shape(columns_of) -> dict:
        return {table: sorted((c["name"], str(c["type"]), c["nullable"]) for c in columns_of(table))
                for table in sorted(set(inspect(ours).get_table_names()) - {"alembic_version"})}

    with ours.connect() as conn:
        migrated = shape(inspect(conn).get_columns)
        migrated_indexes = {t: sorted(i["name"] for i in inspect(conn).get_indexes(t)) for t in migrated}
    rows = {t: [(r[1], r[2], not r[3]) for r in written.execute(f'PRAGMA table_info("{t}")')] for t in migrated}
    assert {t: sorted((n, typ, nullable) for n, typ, nullable in cols) for t, cols in rows.items()} == migrated
    assert {t: sorted(r[1] for r in written.execute(f'PRAGMA index_list("{t}")') if not r[1].startswith("sqlite_"))
            for t in migrated} == migrated_indexes


def _format3_library(path: Path, tiny_model: Path, backend: str) -> Path:
    """The fixture library, around the tests' model, with its catalog in SQLite or PostgreSQL."""
    path.mkdir(parents=True)
    shutil.copytree(tiny_model, path / "model")
    model = json.loads((tiny_model / "radsearch.json").read_text())
    config = tomllib.loads((FIXTURE / "radsearch.toml").read_text())
    config |= {"model_id": model["model_id"], "profile": model["profile"]}  # the library's vectors: this model's
    old = sqlite3.connect(":memory:")
    old.executescript((FIXTURE / "catalog.sql").read_text())
    if backend == "sqlite":
        with sqlite3.connect(path / "catalog.sqlite") as target:
            old.backup(target)
    else:  # the same rows in the format-3 schema, on the server
        url = prepare_database(new_library_url(path))
        config["database_url"] = url
        engine = create_engine(parse(url))
        with engine.begin() as conn:
            from alembic import command
            command.upgrade(_config(conn), BASELINE)
            conn.exec_driver_sql("DROP TABLE alembic_version")  # as format 3 left it: the tables alone
            tables = MetaData()
            tables.reflect(conn)
            for name in COPIED:
                cursor = old.execute(f'SELECT * FROM "{name}"')
                columns = [d[0] for d in cursor.description]
                rows = [dict(zip(columns, row)) for row in cursor]
                if rows:
                    conn.execute(tables.tables[name].insert(), rows)
                conn.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                                     f"(SELECT COALESCE(MAX(id), 1) FROM {name}))")
        engine.dispose()
    (path / "radsearch.toml").write_text(tomli_w.dumps(config))
    return path


def _new_studies(folder: Path) -> list[Path]:
    """Two chest radiographs exposed at 125 and 80 kV, and one without the tag."""
    import numpy as np
    rng = np.random.default_rng(4)
    paths = []
    for n, kvp in enumerate((125, 80, None)):
        tags = {"PatientID": f"NEW{n}", "StudyInstanceUID": f"1.2.3.9.{n}", "SeriesInstanceUID": f"1.2.3.9.{n}.1",
                "BodyPartExamined": "CHEST", "ViewPosition": "PA", "Modality": "DX"}
        if kvp is not None:
            tags["KVP"] = kvp
        paths.append(write_dicom(render(rng, "CHEST", "PA").pixels, folder / f"{n}.dcm", tags))
    return paths


def test_a_format3_library_upgrades_in_place_and_new_images_get_the_new_column(tmp_path, tiny_model,
                                                                              catalog_backend):
    library = _format3_library(tmp_path / "old", tiny_model, catalog_backend)
    old = sqlite3.connect(":memory:")
    old.executescript((FIXTURE / "catalog.sql").read_text())
    old_images = dict(old.execute("SELECT id, path FROM images"))
    old_reports = dict(old.execute("SELECT id, text FROM reports"))

    lib = open_library(library)  # upgraded here, in place
    engine = lib.store.catalog.engine
    assert _revision(engine) == HEAD and _schema_drift(engine) == []
    records = lib.store.catalog.get(list(old_images))
    assert {i: r.path for i, r in records.items()} == old_images  # no row lost or changed
    assert {i: r.text for i, r in lib.store.catalog.reports(list(old_reports)).items()} == old_reports
    assert all(r.metadata["kvp"] is None for r in records.values())  # unknown for images indexed before
    assert len(lib.audit_log()) == 1  # the old library's audit log is kept
    hits = lib.search.text("pleural effusion", k=10)  # the indexes are built from the upgraded catalog
    assert {h.id for h in hits} == set(old_images)

    new = _new_studies(tmp_path / "new")
    summary = index(tmp_path / "new", library, progress=False)
    assert summary.added == 3
    lib = open_library(library)
    high = lib.search.text("chest", k=20, where={"kvp": {"min": 100}})
    assert [h.path for h in high] == [str(new[0])] and high[0].metadata["kvp"] == 125.0
    low = lib.search.text("chest", k=20, where={"kvp": {"max": 100}})
    assert [h.path for h in low] == [str(new[1])]
    result = CliRunner().invoke(main, ["search", "--library", str(library), "--text", "chest", "--where",
                                       "kvp=70..90", "--json"])
    assert result.exit_code == 0, result.output
    assert [hit["path"] for hit in json.loads(result.output)] == [str(new[1])]


def test_two_processes_opening_an_old_library_at_once_both_find_it_upgraded(tmp_path, tiny_model):
    library = _format3_library(tmp_path / "old", tiny_model, "sqlite")
    script = f"from radsearch import open_library; print(open_library({str(library)!r}).count())"
    processes = [subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True) for _ in range(2)]
    answers = [process.communicate(timeout=180) for process in processes]
    assert [out.strip() for out, _ in answers] == ["5", "5"], answers
    assert _revision(create_engine(f"sqlite:///{library / 'catalog.sqlite'}")) == HEAD


def test_a_catalog_from_a_newer_radsearch_is_refused_untouched(tmp_path):
    path = tmp_path / "c.sqlite"
    Catalog(f"sqlite:///{path}").close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999'")
    before = path.read_bytes()
    with pytest.raises(LibraryMismatch, match="newer radsearch"):
        Catalog(f"sqlite:///{path}")
    assert path.read_bytes() == before
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [("9999",)]
    engine = create_engine(f"sqlite:///{path}")
    with engine.connect() as conn:
        assert "kvp" in {c["name"] for c in inspect(conn).get_columns("images")}
        assert conn.execute(select(Base.metadata.tables["images"].c.id)).all() == []
