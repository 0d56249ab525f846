"""Collections of cases and relevance marks (the reading-room UI, REST and `radsearch eval`).

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "collections",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(128), nullable=False, unique=True),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("created", sa.String(32), nullable=False),
        sa.Column("user", sa.String(128), nullable=False),
    )
    op.create_table(
        "collection_items",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("collection_id", sa.Integer, sa.ForeignKey("collections.id"), nullable=False),
        sa.Column("image_id", sa.Integer, nullable=True),
        sa.Column("path", sa.Text, nullable=True),
        sa.Column("study_key", sa.String(128), nullable=True),
        sa.Column("search", sa.Text, nullable=True),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("added", sa.String(32), nullable=False),
        sa.Column("user", sa.String(128), nullable=False),
    )
    op.create_index("ix_collection_items_collection_id", "collection_items", ["collection_id"])
    op.create_table(
        "judgements",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("query", sa.String(512), nullable=False),
        sa.Column("image_id", sa.Integer, nullable=False),
        sa.Column("relevant", sa.Boolean, nullable=False),
        sa.Column("user", sa.String(128), nullable=False),
        sa.Column("at", sa.String(32), nullable=False),
        sa.UniqueConstraint("query", "image_id", "user", name="uq_judgements_query_image_user"),
    )
    op.create_index("ix_judgements_query", "judgements", ["query"])


def downgrade() -> None:
    op.drop_index("ix_judgements_query", "judgements")
    op.drop_table("judgements")
    op.drop_index("ix_collection_items_collection_id", "collection_items")
    op.drop_table("collection_items")
    op.drop_table("collections")
