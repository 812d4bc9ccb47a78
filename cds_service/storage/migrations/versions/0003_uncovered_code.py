"""Codings seen in hook calls that no value set holds, counted for the informatics team
(`nerve-cds cards uncovered`): system, code, display, how many calls, last seen. No patient data.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-05
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "nerve_cds_uncovered_code",
        sa.Column("system", sa.String(256), primary_key=True),
        sa.Column("code", sa.String(128), primary_key=True),
        sa.Column("display", sa.String(256), nullable=False),
        sa.Column("seen", sa.Integer, nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("nerve_cds_uncovered_code")
