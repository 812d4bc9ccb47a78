"""Shadow mode compares suggestions too: each difference keeps the live and the candidate card's
suggestions (action types and labels), so a candidate that adds "delete the drafted MRI" shows.
Rows from before stay, with none.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("shadow_difference", sa.Column("live_suggestions", sa.Text))
    op.add_column("shadow_difference", sa.Column("candidate_suggestions", sa.Text))


def downgrade() -> None:
    for column in ("candidate_suggestions", "live_suggestions"):
        op.drop_column("shadow_difference", column)
