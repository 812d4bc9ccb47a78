"""The feedback report (analytics.py's Report) from the issued-card and feedback tables, through
SQLAlchemy select(), so it runs the same on SQLite and PostgreSQL. Every client in the period is
counted in the report's per-client lines; the topics and weeks are of one client when asked."""
from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.engine import Engine

from .analytics import NO_CLIENT, UNKNOWN, ClientStats, Report, TopicStats, WeekStats, monday
from .sql_schema import feedback as FEEDBACK
from .sql_schema import issued_card as ISSUED
from .versions import NO_VERSION, Counts, VersionStats


def build_report(engine: Engine, since: datetime | None = None, client: str | None = None) -> Report:
    """Counts per topic and per week since `since` (all time if None), of `client` (all if None)."""
    stats: dict[str, TopicStats] = {}
    clients: dict[str, ClientStats] = {}
    weekly: dict[str, dict[date, WeekStats]] = defaultdict(lambda: defaultdict(WeekStats))

    def of(name: str | None) -> ClientStats:
        key = name or NO_CLIENT
        return clients.setdefault(key, ClientStats(key))

    def counted(name: str | None) -> bool:
        return client is None or (name or NO_CLIENT) == client

    def topic(name: str | None) -> TopicStats:
        key = name or UNKNOWN
        return stats.setdefault(key, TopicStats(key))

    issued_q = select(ISSUED.c.client, ISSUED.c.topic, ISSUED.c.issued_at)
    feedback_q = select(FEEDBACK.c.client, FEEDBACK.c.topic, FEEDBACK.c.outcome, FEEDBACK.c.outcome_timestamp,
                        FEEDBACK.c.override_code, FEEDBACK.c.override_display, FEEDBACK.c.accepted_suggestions)
    if since is not None:
        issued_q = issued_q.where(ISSUED.c.issued_at >= since)
        feedback_q = feedback_q.where(FEEDBACK.c.outcome_timestamp >= since)
    with engine.connect() as session:
        for who, name, issued_at in session.execute(issued_q):
            of(who).issued += 1
            if not counted(who):
                continue
            topic(name).issued += 1
            weekly[name or UNKNOWN][monday(issued_at)].issued += 1
        for who, name, outcome, when, code, display, suggestions in session.execute(feedback_q):
            if outcome == "accepted":
                of(who).accepted += 1
            else:
                of(who).overridden += 1
            if not counted(who):
                continue
            entry = topic(name)
            week = weekly[entry.topic][monday(when)]
            if outcome == "accepted":
                entry.accepted += 1
                week.accepted += 1
                entry.suggestions.update(suggestions or [])
            else:
                entry.overridden += 1
                week.overridden += 1
                entry.reasons[(code or "", display or ("no reason given" if not code else code))] += 1
    weeks = sorted({w for per_topic in weekly.values() for w in per_topic})
    if weeks:
        weeks = [weeks[0] + timedelta(weeks=i) for i in range((weeks[-1] - weeks[0]).days // 7 + 1)]
    ordered = sorted(stats.values(), key=lambda t: (-t.issued, t.topic))
    busiest = sorted(clients.values(), key=lambda c: (-c.issued, c.client))
    return Report(ordered, weeks, {t: dict(w) for t, w in weekly.items()}, busiest, client)


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
