"""Initial schema: issued cards, feedback, JWT ids seen.

A database made before migrations existed (by SQLAlchemy's create_all) already has some or all
of these tables, exactly as below: only the missing ones are created, so its rows are kept.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    present = set(sa.inspect(op.get_bind()).get_table_names())
    if "issued_card" not in present:
        op.create_table(
            "issued_card",
            sa.Column("card_uuid", sa.String(64), primary_key=True),
            sa.Column("service_id", sa.String(128), nullable=False),
            sa.Column("hook_instance", sa.String(128), nullable=False),
            sa.Column("topic", sa.String(64)),
            sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        )
    if "feedback" not in present:
        op.create_table(
            "feedback",
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("service_id", sa.String(128), nullable=False),
            sa.Column("card_uuid", sa.String(64), nullable=False),
            sa.Column("hook_instance", sa.String(128)),
            sa.Column("topic", sa.String(64)),
            sa.Column("outcome", sa.String(16), nullable=False),
            sa.Column("outcome_timestamp", sa.DateTime(timezone=True), nullable=False),
            sa.Column("accepted_suggestions", sa.JSON, nullable=False),
            sa.Column("override_system", sa.String(256)),
            sa.Column("override_code", sa.String(128)),
            sa.Column("override_display", sa.String(512)),
            sa.Column("user_comment", sa.Text),
            sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
            sa.UniqueConstraint("card_uuid", "outcome", "outcome_timestamp", name="uq_feedback"),
        )
        op.create_index("ix_feedback_card_uuid", "feedback", ["card_uuid"])
    if "nerve_cds_jti_seen" not in present:
        op.create_table(
            "nerve_cds_jti_seen",
            sa.Column("key", sa.String(64), primary_key=True),
            sa.Column("expires", sa.Float, nullable=False),
        )
        op.create_index("ix_nerve_cds_jti_seen_expires", "nerve_cds_jti_seen", ["expires"])


def downgrade() -> None:
    op.drop_table("nerve_cds_jti_seen")
    op.drop_table("feedback")
    op.drop_table("issued_card")
