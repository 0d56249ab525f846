"""Where a library's catalog lives: SQLite inside the library, or a database on a PostgreSQL server.

A new library takes `--database URL` when given; otherwise, when RADSEARCH_DATABASE_URL names a
PostgreSQL server, a database of its own on that server (named after the library folder); otherwise
SQLite. PostgreSQL databases are created on first use when the role may create them.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import re
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, ProgrammingError, SQLAlchemyError

from ..errors import CatalogUnavailable

log = logging.getLogger(__name__)

SERVER_ENV = "RADSEARCH_DATABASE_URL"  # a PostgreSQL server for new libraries (one database each)


def new_library_url(library: Path, explicit: str | None = None) -> str:
    """The catalog URL a new library at `library` records ("" = catalog.sqlite inside it)."""
    if explicit:
        return explicit
    server = os.environ.get(SERVER_ENV, "")
    if not server:
        return ""
    url = parse(server)
    if not url.drivername.startswith("postgresql"):
        raise CatalogUnavailable(f"{SERVER_ENV} must name a PostgreSQL server, not {safe(url)}; "
                                 "give other databases per library with --database URL")
    return url.set(database=database_name(library)).render_as_string(hide_password=False)


def database_name(library: Path) -> str:
    """A PostgreSQL database name for a library: its folder name plus a hash of its full path."""
    resolved = str(Path(library).resolve())
    stem = re.sub(r"[^a-z0-9_]+", "_", Path(resolved).name.lower()).strip("_")[:40] or "library"
    return f"radsearch_{stem}_{hashlib.sha256(resolved.encode()).hexdigest()[:8]}"


def parse(url: str) -> URL:
    """A SQLAlchemy URL; plain postgresql:// uses psycopg 3 (the `postgres` extra)."""
    try:
        parsed = make_url(url)
    except ArgumentError as e:
        raise CatalogUnavailable(f"{url!r} is not a database URL (e.g. postgresql://user@host/db): {e}") from e
    if parsed.drivername in ("postgresql", "postgres"):
        if importlib.util.find_spec("psycopg") is None:
            raise CatalogUnavailable("PostgreSQL catalogs need the psycopg driver: pip install 'radsearch[postgres]'")
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def safe(url: URL | str) -> str:
    """The URL with its password hidden, for messages and logs."""
    return (make_url(url) if isinstance(url, str) else url).render_as_string(hide_password=True)


def prepare_database(url: str) -> str:
    """Make sure the database behind `url` exists (PostgreSQL: created if missing); returns the URL to use."""
    if not url:
        return url
    parsed = parse(url)
    if not parsed.drivername.startswith("postgresql"):
        return parsed.render_as_string(hide_password=False)
    name = parsed.database
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).scalar()
            if not exists:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
                log.info("created PostgreSQL database %s", name)
    except SQLAlchemyError as e:
        raise CatalogUnavailable(f"cannot prepare the catalog database {safe(parsed)}: {e.__class__.__name__}: "
                                 f"{str(e).splitlines()[0]}. Start the server, create the database yourself, "
                                 "or grant the role CREATEDB") from e
    finally:
        admin.dispose()
    return parsed.render_as_string(hide_password=False)


def drop_database(url: str) -> None:
    """Delete a library's PostgreSQL database (the test suite cleans up with it)."""
    parsed = parse(url)
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    drop = f'DROP DATABASE IF EXISTS "{parsed.database}"'
    try:
        with admin.connect() as conn:
            try:
                conn.execute(text(drop + " WITH (FORCE)"))
            except ProgrammingError:
                # FORCE may not end a session this role does not own (an autovacuum worker that happens to be in
                # the database); a plain DROP asks autovacuum to stop and waits a few seconds for it.
                log.info("DROP DATABASE %s WITH (FORCE) refused; dropping without FORCE", parsed.database)
                conn.rollback()
                conn.execute(text(drop))
    finally:
        admin.dispose()
