"""Every filterable column has an index (modality and laterality had none): the column registry now says
which columns filter, and each of them is indexed.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_images_modality", "images", ["modality"])
    op.create_index("ix_images_laterality", "images", ["laterality"])


def downgrade() -> None:
    op.drop_index("ix_images_laterality", "images")
    op.drop_index("ix_images_modality", "images")
