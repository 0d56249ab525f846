"""Alembic's environment: migrations run on the connection radsearch hands over (storage.migrations.runner),
or, for a developer's `alembic -c radsearch/storage/migrations/alembic.ini -x url=URL ...`, on that URL."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from radsearch.storage.schema import Base

config = context.config
connection = config.attributes.get("connection")
if connection is not None:
    context.configure(connection=connection, target_metadata=Base.metadata)
    with context.begin_transaction():
        context.run_migrations()
else:
    url = context.get_x_argument(as_dictionary=True).get("url")
    if not url:
        raise SystemExit("give the catalog to migrate: alembic ... -x url=sqlite:///LIB/catalog.sqlite")
    engine = create_engine(url)
    with engine.connect() as conn:
        context.configure(connection=conn, target_metadata=Base.metadata)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()
