"""The feedback report (analytics.py) from the issued-card and feedback tables, through SQLAlchemy
select(), so it runs the same on SQLite and PostgreSQL: the cards issued in the period, every
feedback on them, the feedback in the period on cards whose row was lost, and which clients have
ever sent feedback (a client that never does has no feedback channel); the same per card library
version. Patients are read as the
keyed hashes the cards recorded, only to be counted."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.engine import Engine

from .analytics import NO_CLIENT, UNKNOWN, FeedbackRow, IssuedRow, Report, Vocabulary, summarise
from .sql_schema import feedback as FEEDBACK
from .sql_schema import issued_card as ISSUED
from .versions import NO_VERSION, VersionStats


def build_report(engine: Engine, since: datetime | None = None, client: str | None = None,
                 vocabulary: Vocabulary | None = None) -> Report:
    """Counts per card since `since` (all time if None), per topic, rule, week, hook and user of
    `client` (all if None), per client for all."""
    cards, _, feedback, channels = _read(engine, since)
    return summarise(cards, feedback, channels, vocabulary, client)


def build_versions(engine: Engine, since: datetime | None = None, client: str | None = None,
                   vocabulary: Vocabulary | None = None) -> list[VersionStats]:
    """Per library version (oldest first): the report on the cards issued from it since `since`
    (of `client` when given), its feedback counting toward the version its card was issued from;
    feedback on cards whose row was lost, under UNKNOWN, as the topic table counts it."""
    cards, versions, feedback, channels = _read(engine, since)
    if client is not None:
        cards = [c for c in cards if (c.client or NO_CLIENT) == client]
    groups: dict[str, list[IssuedRow]] = {}
    for card in cards:
        groups.setdefault(versions[card.card] or NO_VERSION, []).append(card)
    found = []
    for version, group in groups.items():
        ids = {card.card for card in group}
        report = summarise(group, [f for f in feedback if f.card in ids], channels, vocabulary, client)
        found.append(VersionStats.of(version, report, [card.issued_at for card in group]))
    lost = summarise([], [f for f in feedback if f.card not in versions], channels, vocabulary, client)
    if lost.topics:
        found.append(VersionStats.of(UNKNOWN, lost, []))
    return sorted(found, key=lambda v: v.first_issued.isoformat() if v.first_issued else "~")


def _read(engine: Engine, since: datetime | None) -> tuple[list[IssuedRow], dict[str, str | None], list[FeedbackRow], set]:
    """The cards issued since `since` (and each one's library version), every feedback on them,
    the feedback since then on cards whose row was lost, and the clients that ever sent feedback."""
    issued_q = select(ISSUED.c.card_uuid, ISSUED.c.service_id, ISSUED.c.client, ISSUED.c.topic, ISSUED.c.issued_at,
                      ISSUED.c.rule, ISSUED.c.user_id, ISSUED.c.patient_key, ISSUED.c.library_version)
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
        issued = list(session.execute(issued_q))
        rows = [*session.execute(answers), *session.execute(lost)]
        channels = set(session.scalars(select(FEEDBACK.c.client).distinct()))
    cards = [IssuedRow(*row[:8]) for row in issued]
    versions = {row[0]: row[8] for row in issued}
    feedback = [FeedbackRow(card, who, topic, outcome, when, tuple(suggestions or ()), system, code, display, comment)
                for card, who, topic, outcome, when, suggestions, system, code, display, comment in rows]
    return cards, versions, feedback, channels
