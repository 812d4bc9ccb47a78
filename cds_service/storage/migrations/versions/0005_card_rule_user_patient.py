"""Analytics per rule, user and patient count: each issued card records the rule that made it,
the user of the hook call (context.userId) and a keyed hash of the patient (never the id), so
distinct patients can be counted. Rows from before stay, with none of them.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("issued_card", sa.Column("rule", sa.String(64)))
    op.add_column("issued_card", sa.Column("user_id", sa.Text))
    op.add_column("issued_card", sa.Column("patient_key", sa.String(64)))


def downgrade() -> None:
    for column in ("patient_key", "user_id", "rule"):
        op.drop_column("issued_card", column)
