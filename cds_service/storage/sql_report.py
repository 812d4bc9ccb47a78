"""The feedback report (analytics.py) from the issued-card and feedback tables, through SQLAlchemy
select(), so it runs the same on SQLite and PostgreSQL: the cards issued in the period, every
feedback on them, the feedback in the period on cards whose row was lost, and which clients have
ever sent feedback (a client that never does has no feedback channel). Patients are read as the
keyed hashes the cards recorded, only to be counted."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.engine import Engine

from .analytics import UNKNOWN, FeedbackRow, IssuedRow, Report, Vocabulary, summarise
from .sql_schema import feedback as FEEDBACK
from .sql_schema import issued_card as ISSUED
from .versions import NO_VERSION, Counts, VersionStats


def build_report(engine: Engine, since: datetime | None = None, client: str | None = None,
                 vocabulary: Vocabulary | None = None) -> Report:
    """Counts per card since `since` (all time if None), per topic, rule, week, hook and user of
    `client` (all if None), per client for all."""
    issued_q = select(ISSUED.c.card_uuid, ISSUED.c.service_id, ISSUED.c.client, ISSUED.c.topic, ISSUED.c.issued_at,
                      ISSUED.c.rule, ISSUED.c.user_id, ISSUED.c.patient_key)
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


def build_versions(engine: Engine, since: datetime | None = None, client: str | None = None) -> list[VersionStats]:
    """Per library version (oldest first): cards issued since `since` and the feedback on them,
    per topic; feedback counts toward the version its card was issued from."""
    found: dict[str, VersionStats] = {}
    issued_q = select(ISSUED.c.library_version, ISSUED.c.topic, ISSUED.c.issued_at)
    feedback_q = (select(ISSUED.c.library_version, FEEDBACK.c.topic, FEEDBACK.c.outcome)
                  .select_from(FEEDBACK.outerjoin(ISSUED, ISSUED.c.card_uuid == FEEDBACK.c.card_uuid)))
    if since is not None:
        issued_q = issued_q.where(ISSUED.c.issued_at >= since)
        feedback_q = feedback_q.where(FEEDBACK.c.outcome_timestamp >= since)
    if client is not None:
        issued_q = issued_q.where(ISSUED.c.client == client)
        feedback_q = feedback_q.where(FEEDBACK.c.client == client)
    with engine.connect() as session:
        for version, name, issued_at in session.execute(issued_q):
            entry = found.setdefault(version or NO_VERSION, VersionStats(version or NO_VERSION))
            entry.first_issued = min(entry.first_issued or issued_at, issued_at)
            entry.last_issued = max(entry.last_issued or issued_at, issued_at)
            for counts in (entry.total, entry.topics.setdefault(name or UNKNOWN, Counts())):
                counts.issued += 1
        for version, name, outcome in session.execute(feedback_q):
            entry = found.setdefault(version or NO_VERSION, VersionStats(version or NO_VERSION))
            for counts in (entry.total, entry.topics.setdefault(name or UNKNOWN, Counts())):
                if outcome == "accepted":
                    counts.accepted += 1
                else:
                    counts.overridden += 1
    return sorted(found.values(), key=lambda v: v.first_issued.isoformat() if v.first_issued else "")
