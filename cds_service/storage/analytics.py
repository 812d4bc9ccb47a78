"""What clinicians do with the cards: shown, accepted, overridden (and why), week by week.

The report's values only, as every store returns them from Storage.report (plain dataclasses: no
database library behind them). Weeks start on Monday (ISO weeks), in UTC.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any

UNKNOWN = "(card not recorded)"  # feedback on a card we issued whose row was lost (database down)
NO_CLIENT = "(before clients were recorded)"  # rows stored before migration 0002


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
class ClientStats:
    client: str  # the JWT iss; core.cardids.ANONYMOUS_CLIENT in dev mode without authentication
    issued: int = 0
    accepted: int = 0
    overridden: int = 0


@dataclass
class Report:
    topics: list[TopicStats]
    weeks: list[date]  # Mondays, oldest first, with no gaps
    weekly: dict[str, dict[date, WeekStats]]  # topic -> week -> counts
    clients: list[ClientStats] = field(default_factory=list)  # every client in the period, busiest first
    client: str | None = None  # the one client reported on, None for all

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
            "client": self.client,
            "clients": [vars(c) for c in self.clients],
        }


def monday(when: datetime) -> date:
    day = (when if when.tzinfo is None else when.astimezone(timezone.utc)).date()
    return day - timedelta(days=day.weekday())
