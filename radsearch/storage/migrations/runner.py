"""Bring a catalog's schema to the newest revision when it is opened: in one transaction, one process at a time.

A new catalog is built by the same migrations, so old and new libraries end with the same schema. A
catalog made before migrations existed (library format 3) has the tables but no alembic_version: it is
stamped at the baseline revision first. A catalog at a revision this radsearch does not know was written
by a newer radsearch and is refused, untouched.
"""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, event, inspect, text
from sqlalchemy.engine import Connection, Engine

from ...errors import LibraryMismatch

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
SCRIPTS = ScriptDirectory(str(HERE))
HEAD = SCRIPTS.get_current_head()
BASELINE = "0001"  # the schema library format 3 made without migrations
LEGACY_TABLE = "images"  # present in such a catalog, which has no alembic_version table
LOCK_KEY = 0x7261647365617263  # PostgreSQL advisory lock held while migrating ("radsearc")
SQLITE_BUSY_TIMEOUT_S = 30


def _config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(HERE))
    config.attributes["connection"] = connection
    return config


def revision_of(connection: Connection) -> str | None:
    """The catalog's schema revision (None: never migrated)."""
    return MigrationContext.configure(connection).get_current_revision()


def _known(revision: str) -> bool:
    try:
        return SCRIPTS.get_revision(revision) is not None
    except Exception:  # noqa: BLE001 - alembic raises several types for an unknown id
        return False


def _migration_engine(engine: Engine) -> Engine:
    """An engine for the migration itself. SQLite: DDL inside a real transaction opened with BEGIN IMMEDIATE,
    which is also the lock that makes a second process wait and then find the work done."""
    if engine.dialect.name != "sqlite":
        return engine
    migrator = create_engine(engine.url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S})

    @event.listens_for(migrator, "connect")
    def _manual_transactions(dbapi_connection, _record) -> None:  # noqa: ANN001
        dbapi_connection.isolation_level = None  # the driver opens no transactions of its own

    @event.listens_for(migrator, "begin")
    def _begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return migrator


def upgrade_catalog(engine: Engine, where: str) -> None:
    """Apply the migrations a catalog lacks; a no-op (one query) when it is current."""
    with engine.connect() as conn:
        if revision_of(conn) == HEAD:
            return
    migrator = _migration_engine(engine)
    try:
        with migrator.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
            current = revision_of(conn)  # again, under the lock: another process may have migrated meanwhile
            if current == HEAD:
                return
            if current is not None and not _known(current):
                raise LibraryMismatch(f"the catalog {where} has schema revision {current}, which this radsearch does "
                                      f"not know (its newest is {HEAD}): it was written by a newer radsearch; "
                                      "upgrade radsearch to open it")
            if current is None and LEGACY_TABLE in inspect(conn).get_table_names():
                command.stamp(_config(conn), BASELINE)
                current = BASELINE
                log.info("catalog %s predates migrations: taken as revision %s", where, BASELINE)
            command.upgrade(_config(conn), "head")
            if current is not None:
                log.warning("catalog %s upgraded in place from schema revision %s to %s", where, current, HEAD)
    finally:
        if migrator is not engine:
            migrator.dispose()
