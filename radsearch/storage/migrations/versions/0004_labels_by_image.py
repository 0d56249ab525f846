"""Labels are looked up by image for every result page (`Catalog.get`): without an index on labels.image_id
each page scanned the whole labels table, 50 ms at 10^6 images (benchmarks/library_scale.py).

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_labels_image", "labels", ["image_id"])


def downgrade() -> None:
    op.drop_index("ix_labels_image", "labels")
