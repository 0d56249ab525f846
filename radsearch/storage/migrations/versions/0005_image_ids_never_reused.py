"""Image ids are never handed out twice: SQLite's AUTOINCREMENT on the images table.

Without it SQLite gives a new row the largest id in use plus one, so removing the newest image and indexing
another gave the newcomer the removed one's id. What another process derived from the ids (its loaded
vector index, the in-memory filter columns of `storage/filter_columns.py`) could then not tell the two
apart and kept the old image's metadata. PostgreSQL's sequences never reuse a value, so only SQLite
changes; its images table is rebuilt once (a copy of the table: 26 s for 10^6 images on this machine).

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    with op.batch_alter_table("images", recreate="always", table_kwargs={"sqlite_autoincrement": True}):
        pass


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    with op.batch_alter_table("images", recreate="always", table_kwargs={"sqlite_autoincrement": False}):
        pass
