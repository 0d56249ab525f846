"""The catalog as library format 3 wrote it (before migrations existed): studies, series, images with their
metadata, reports and sentences, labels, head predictions, runs, copies, failures and the audit log.

A catalog made before migrations has these tables but no alembic_version; opening it stamps it at this
revision and applies the later ones.

Revision ID: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _id() -> sa.Column:
    return sa.Column("id", sa.Integer(), primary_key=True)


def upgrade() -> None:
    op.create_table(
        "studies", _id(),
        sa.Column("study_key", sa.String(128), nullable=False, unique=True),
        sa.Column("patient_id", sa.String(128)), sa.Column("accession", sa.String(128)),
        sa.Column("study_uid", sa.String(128)), sa.Column("study_date", sa.String(10)))
    op.create_index("ix_studies_accession", "studies", ["accession"])
    op.create_index("ix_studies_patient_id", "studies", ["patient_id"])
    op.create_table(
        "index_runs", _id(),
        sa.Column("source", sa.Text(), nullable=False), sa.Column("finished", sa.String(32), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False), sa.Column("added", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False), sa.Column("summary", sa.Text(), nullable=False))
    op.create_table(
        "copies", _id(),
        sa.Column("path", sa.Text(), nullable=False), sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("patient_id", sa.String(128)), sa.Column("study_key", sa.String(128)),
        sa.Column("split", sa.String(16)))
    op.create_index("ix_copies_path", "copies", ["path"])
    op.create_index("ix_copies_content_hash", "copies", ["content_hash"])
    op.create_table(
        "failures", _id(),
        sa.Column("path", sa.Text(), nullable=False), sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("at", sa.String(32), nullable=False))
    op.create_table(
        "audit_log", _id(),
        sa.Column("at", sa.String(32), nullable=False), sa.Column("user", sa.String(128), nullable=False),
        sa.Column("action", sa.String(32), nullable=False), sa.Column("query", sa.Text(), nullable=False),
        sa.Column("filters", sa.Text()), sa.Column("results", sa.Text(), nullable=False))
    op.create_index("ix_audit_log_at", "audit_log", ["at"])
    op.create_index("ix_audit_log_user", "audit_log", ["user"])
    op.create_table(
        "series", _id(),
        sa.Column("study_id", sa.Integer(), sa.ForeignKey("studies.id"), nullable=False),
        sa.Column("series_key", sa.String(160), nullable=False, unique=True),
        sa.Column("series_uid", sa.String(128)), sa.Column("modality", sa.String(16)),
        sa.Column("number", sa.Integer()), sa.Column("description", sa.Text()))
    op.create_index("ix_series_study_id", "series", ["study_id"])
    op.create_table(
        "reports", _id(),
        sa.Column("study_id", sa.Integer(), sa.ForeignKey("studies.id"), nullable=False, unique=True),
        sa.Column("text", sa.Text(), nullable=False), sa.Column("embedding", sa.LargeBinary(), nullable=False))
    op.create_table(
        "images", _id(),
        sa.Column("study_id", sa.Integer(), sa.ForeignKey("studies.id"), nullable=False),
        sa.Column("series_id", sa.Integer(), sa.ForeignKey("series.id"), nullable=False),
        sa.Column("path", sa.Text(), nullable=False), sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("file_size", sa.BigInteger()), sa.Column("file_mtime_ns", sa.BigInteger()),
        sa.Column("frame", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.String(128)), sa.Column("sop_uid", sa.String(128)),
        sa.Column("modality", sa.String(16)), sa.Column("body_part", sa.String(64)), sa.Column("view", sa.String(16)),
        sa.Column("laterality", sa.String(8)), sa.Column("sex", sa.String(8)), sa.Column("age", sa.Float()),
        sa.Column("study_date", sa.String(10)), sa.Column("split", sa.String(16)),
        sa.Column("institution", sa.String(128)), sa.Column("manufacturer", sa.String(128)),
        sa.Column("manufacturer_model", sa.String(128)),
        sa.Column("width", sa.Integer(), nullable=False), sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("profile_hash", sa.String(32), nullable=False), sa.Column("extra", sa.Text()),
        sa.Column("header", sa.Text()), sa.Column("embedding", sa.LargeBinary(), nullable=False),
        sa.UniqueConstraint("content_hash", "frame"))
    for column in ("study_id", "series_id", "content_hash", "patient_id", "body_part", "view", "sex", "age",
                   "study_date", "split", "institution", "manufacturer"):
        op.create_index(f"ix_images_{column}", "images", [column])
    op.create_table(
        "sentences", _id(),
        sa.Column("report_id", sa.Integer(), sa.ForeignKey("reports.id"), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False), sa.Column("section", sa.String(16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False), sa.Column("embedding", sa.LargeBinary(), nullable=False))
    op.create_index("ix_sentences_report_id", "sentences", ["report_id"])
    op.create_table(
        "labels", _id(),
        sa.Column("image_id", sa.Integer(), sa.ForeignKey("images.id"), nullable=False),
        sa.Column("name", sa.String(64), nullable=False))
    op.create_index("ix_labels_name_image", "labels", ["name", "image_id"])
    op.create_table(
        "predictions", _id(),
        sa.Column("image_id", sa.Integer(), sa.ForeignKey("images.id"), nullable=False),
        sa.Column("head", sa.String(64), nullable=False), sa.Column("target", sa.String(128), nullable=False),
        sa.Column("probability", sa.Float(), nullable=False), sa.Column("positive", sa.Boolean(), nullable=False))
    op.create_index("ix_predictions_head_target", "predictions", ["head", "target", "positive", "image_id"])
    op.create_index("ix_predictions_image", "predictions", ["image_id"])


def downgrade() -> None:
    for table in ("predictions", "labels", "sentences", "images", "reports", "series", "audit_log", "failures",
                  "copies", "index_runs", "studies"):
        op.drop_table(table)
