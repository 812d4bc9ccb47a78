"""What clinicians do with the cards: shown, accepted, overridden (and why), week by week.

Read-only queries on the issued-card and feedback tables (store.py) through SQLAlchemy select(),
so they run the same on SQLite and PostgreSQL. Weeks start on Monday (ISO weeks), in UTC.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine

from .sql_schema import feedback as FEEDBACK
from .sql_schema import issued_card as ISSUED

# The two tables as SQLAlchemy Core sees them: the queries below name columns only.
UNKNOWN = "(card not issued here)"  # feedback about a uuid this service has no record of


@dataclass
class TopicStats:
    topic: str
    issued: int = 0
    accepted: int = 0
    overridden: int = 0
    reasons: Counter = field(default_factory=Counter)  # (code, display) -> count; ("", "no reason given")
    suggestions: Counter = field(default_factory=Counter)  # accepted suggestion uuid -> count

    @property
    def acceptance(self) -> float | None:
        """Accepted share of the cards that got feedback; None without feedback."""
        answered = self.accepted + self.overridden
        return self.accepted / answered if answered else None


@dataclass
class WeekStats:
    issued: int = 0
    accepted: int = 0
    overridden: int = 0


@dataclass
class Report:
    topics: list[TopicStats]
    weeks: list[date]  # Mondays, oldest first, with no gaps
    weekly: dict[str, dict[date, WeekStats]]  # topic -> week -> counts

    def topic(self, name: str) -> TopicStats | None:
        return next((t for t in self.topics if t.topic == name), None)

    def as_json(self) -> dict[str, Any]:
        return {
            "topics": [{"topic": t.topic, "issued": t.issued, "accepted": t.accepted, "overridden": t.overridden,
                        "overrideReasons": [{"code": c, "display": d, "count": n} for (c, d), n in t.reasons.most_common()],
                        "acceptedSuggestions": dict(t.suggestions.most_common())} for t in self.topics],
            "weeks": [
                {"week": w.isoformat(), "topics": {topic: vars(weeks[w]) for topic, weeks in self.weekly.items() if w in weeks}}
                for w in self.weeks
            ],
        }


def monday(when: datetime) -> date:
    day = (when if when.tzinfo is None else when.astimezone(timezone.utc)).date()
    return day - timedelta(days=day.weekday())


def build_report(engine: Engine, since: datetime | None = None) -> Report:
    """Counts per topic and per week since `since` (all time if None)."""
    stats: dict[str, TopicStats] = {}
    weekly: dict[str, dict[date, WeekStats]] = defaultdict(lambda: defaultdict(WeekStats))

    def topic(name: str | None) -> TopicStats:
        key = name or UNKNOWN
        return stats.setdefault(key, TopicStats(key))

    issued_q = select(ISSUED.c.topic, ISSUED.c.issued_at)
    feedback_q = select(FEEDBACK.c.topic, FEEDBACK.c.outcome, FEEDBACK.c.outcome_timestamp, FEEDBACK.c.override_code,
                        FEEDBACK.c.override_display, FEEDBACK.c.accepted_suggestions)
    if since is not None:
        issued_q = issued_q.where(ISSUED.c.issued_at >= since)
        feedback_q = feedback_q.where(FEEDBACK.c.outcome_timestamp >= since)
    with engine.connect() as session:
        for name, issued_at in session.execute(issued_q):
            topic(name).issued += 1
            weekly[name or UNKNOWN][monday(issued_at)].issued += 1
        for name, outcome, when, code, display, suggestions in session.execute(feedback_q):
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
    return Report(ordered, weeks, {t: dict(w) for t, w in weekly.items()})
