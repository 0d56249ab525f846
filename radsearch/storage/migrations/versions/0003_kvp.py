"""The tube voltage an image was exposed at (DICOM KVP, in kV) as a filterable column: `--where kvp=100..130`.

Images indexed before this revision have none (NULL) until they are indexed again.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("images", sa.Column("kvp", sa.Float(), nullable=True))
    op.create_index("ix_images_kvp", "images", ["kvp"])


def downgrade() -> None:
    op.drop_index("ix_images_kvp", "images")
    op.drop_column("images", "kvp")
