"""What the SQL store kept, read straight from its tables: the service never reads single rows
back (it reports on them), so the storage tests look at them here."""
from __future__ import annotations

from types import SimpleNamespace

from flask import Flask
from sqlalchemy import select

from cds_service.storage.sql_schema import feedback, issued_card


def stored_feedback(app: Flask, card_uuid: str) -> list[SimpleNamespace]:
    """The feedback rows about one card, oldest first (accepted suggestions as a tuple)."""
    with app.extensions["nerve_cds.storage"].database.engine.connect() as conn:
        rows = conn.execute(select(feedback).where(feedback.c.card_uuid == card_uuid).order_by(feedback.c.id)).all()
    return [SimpleNamespace(**{**row._asdict(), "accepted_suggestions": tuple(row.accepted_suggestions)}) for row in rows]


def stored_card(app: Flask, card_uuid: str) -> SimpleNamespace | None:
    """The issued-card row for one card, if it was recorded."""
    with app.extensions["nerve_cds.storage"].database.engine.connect() as conn:
        row = conn.execute(select(issued_card).where(issued_card.c.card_uuid == card_uuid)).first()
    return SimpleNamespace(**row._asdict()) if row else None
