"""The feedback report (analytics.py) from the issued-card and feedback tables, through SQLAlchemy
select(), so it runs the same on SQLite and PostgreSQL: the cards issued in the period, every
feedback on them, the feedback in the period on cards whose row was lost, and which clients have
ever sent feedback (a client that never does has no feedback channel)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.engine import Engine

from .analytics import FeedbackRow, IssuedRow, Report, Vocabulary, summarise
from .sql_schema import feedback as FEEDBACK
from .sql_schema import issued_card as ISSUED


def build_report(engine: Engine, since: datetime | None = None, client: str | None = None,
                 vocabulary: Vocabulary | None = None) -> Report:
    """Counts per card since `since` (all time if None), per topic, week and hook of `client`
    (all if None), per client for all."""
    issued_q = select(ISSUED.c.card_uuid, ISSUED.c.service_id, ISSUED.c.client, ISSUED.c.topic, ISSUED.c.issued_at)
    columns = (FEEDBACK.c.card_uuid, FEEDBACK.c.client, FEEDBACK.c.topic, FEEDBACK.c.outcome, FEEDBACK.c.outcome_timestamp,
               FEEDBACK.c.accepted_suggestions, FEEDBACK.c.override_system, FEEDBACK.c.override_code,
               FEEDBACK.c.override_display, FEEDBACK.c.user_comment)
    lost = select(*columns).outerjoin(ISSUED, ISSUED.c.card_uuid == FEEDBACK.c.card_uuid).where(ISSUED.c.card_uuid.is_(None))
    issued_ids = select(ISSUED.c.card_uuid)
    if since is not None:
        issued_q = issued_q.where(ISSUED.c.issued_at >= since)
        issued_ids = issued_ids.where(ISSUED.c.issued_at >= since)
        lost = lost.where(FEEDBACK.c.outcome_timestamp >= since)
    answers = select(*columns).where(FEEDBACK.c.card_uuid.in_(issued_ids))
    with engine.connect() as session:
        cards = [IssuedRow(*row) for row in session.execute(issued_q)]
        rows = [*session.execute(answers), *session.execute(lost)]
        channels = set(session.scalars(select(FEEDBACK.c.client).distinct()))
    feedback = [FeedbackRow(card, who, topic, outcome, when, tuple(suggestions or ()), system, code, display, comment)
                for card, who, topic, outcome, when, suggestions, system, code, display, comment in rows]
    return summarise(cards, feedback, channels, vocabulary, client)
