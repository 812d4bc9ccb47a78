"""Which client each issued card went to and each feedback came from (the JWT iss), so that
analytics can be read per client. Rows from before stay, with no client.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-05
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("issued_card", "feedback"):
        op.add_column(table, sa.Column("client", sa.Text))
        op.create_index(f"ix_{table}_client", table, ["client"])


def downgrade() -> None:
    for table in ("issued_card", "feedback"):
        op.drop_index(f"ix_{table}_client", table)
        op.drop_column(table, "client")
