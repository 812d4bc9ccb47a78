"""The feedback report per card library version: what clinicians did with the cards of each
version, so a library change can be judged before and after it went live. Each version's rows are
the feedback report (analytics.summarise) of that version's cards alone, so its counts, accepted
share and patients mean exactly what they mean in the topic and rule tables."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .analytics import Counts, Report, TopicStats

NO_VERSION = "(before versions were recorded)"  # cards issued before migration 0004


@dataclass
class VersionStats:
    version: str
    first_issued: datetime | None = None
    last_issued: datetime | None = None
    total: Counts = field(default_factory=Counts)  # every topic's cards together
    topics: dict[str, TopicStats] = field(default_factory=dict)

    @classmethod
    def of(cls, version: str, report: Report, issued: list[datetime]) -> VersionStats:
        """`report`: the feedback report on this version's cards; `issued`: when they were issued."""
        stats = cls(version, min(issued, default=None), max(issued, default=None),
                    topics={t.topic: t for t in report.topics})
        for topic in report.topics:
            stats.total.add(topic)
        return stats

    def as_json(self) -> dict[str, Any]:
        return {"version": self.version,
                "firstIssued": self.first_issued.isoformat() if self.first_issued else None,
                "lastIssued": self.last_issued.isoformat() if self.last_issued else None,
                **self.total.counts(), "topics": {t: c.counts() for t, c in sorted(self.topics.items())}}
