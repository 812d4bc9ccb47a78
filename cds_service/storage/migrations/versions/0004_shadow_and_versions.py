"""Library versions and shadow mode: the card library version each card was issued from, the
candidate library's differences from the live one, and who viewed them in the workbench.
Rows from before stay, with no version.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("issued_card", sa.Column("library_version", sa.String(80)))
    op.create_table(
        "shadow_difference",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("service_id", sa.String(128), nullable=False),
        sa.Column("hook_instance", sa.String(128), nullable=False),
        sa.Column("patient_id", sa.String(128)),
        sa.Column("encounter_id", sa.String(128)),
        sa.Column("topic", sa.String(64), nullable=False),
        sa.Column("change", sa.String(16), nullable=False),
        sa.Column("live_indicator", sa.String(16)),
        sa.Column("candidate_indicator", sa.String(16)),
        sa.Column("live_summary", sa.Text),
        sa.Column("candidate_summary", sa.Text),
        sa.Column("live_version", sa.String(80), nullable=False),
        sa.Column("candidate_version", sa.String(80), nullable=False),
    )
    op.create_index("ix_shadow_difference_recorded_at", "shadow_difference", ["recorded_at"])
    op.create_table(
        "shadow_view",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("viewed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("viewer", sa.String(256), nullable=False),
        sa.Column("difference_id", sa.Integer, nullable=False),
    )
    op.create_index("ix_shadow_view_viewed_at", "shadow_view", ["viewed_at"])


def downgrade() -> None:
    op.drop_table("shadow_view")
    op.drop_table("shadow_difference")
    op.drop_column("issued_card", "library_version")
