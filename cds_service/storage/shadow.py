"""Shadow mode's values: how a candidate card library's answer to a hook call differs from the
live one's, per topic, and the report of those differences per day and topic.

Cards are compared on what the clinician would see first: topic, indicator and summary. A topic
only the candidate shows is `gained`, only the live library `lost`; on both, another indicator is
`indicator`, the same indicator with another summary `wording`. Plain dataclasses: every store
takes and gives these.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Iterable

CHANGES = ("gained", "lost", "indicator", "wording")


@dataclass(frozen=True)
class Difference:
    topic: str
    change: str  # one of CHANGES
    live_indicator: str | None = None
    candidate_indicator: str | None = None
    live_summary: str | None = None
    candidate_summary: str | None = None


@dataclass(frozen=True)
class ShadowCall:
    """One hook call's differences, with what chart review needs to find the patient."""

    service_id: str
    hook_instance: str
    patient_id: str | None
    encounter_id: str | None
    live_version: str
    candidate_version: str
    recorded_at: datetime
    differences: tuple[Difference, ...]


@dataclass(frozen=True)
class StoredDifference:
    """A stored difference as the workbench shows it for chart review."""

    id: int
    recorded_at: datetime
    service_id: str
    hook_instance: str
    patient_id: str | None
    encounter_id: str | None
    difference: Difference
    live_version: str
    candidate_version: str


@dataclass
class DayTopic:
    """Per day (UTC) and topic: how many differences of each kind, over how many calls and patients."""

    day: date
    topic: str
    changes: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CHANGES, 0))
    calls: int = 0
    patients: int = 0
    candidate_versions: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"day": self.day.isoformat(), "topic": self.topic, "changes": dict(self.changes), "calls": self.calls,
                "patients": self.patients, "candidateVersions": list(self.candidate_versions)}


def _by_topic(cards: Iterable[dict[str, Any]]) -> dict[str, tuple[str, str]]:
    return {c.get("source", {}).get("topic", {}).get("code", ""): (c.get("indicator", ""), c.get("summary", ""))
            for c in cards}


def compare(live: Iterable[dict[str, Any]], candidate: Iterable[dict[str, Any]]) -> tuple[Difference, ...]:
    """Per topic, how the candidate's cards differ from the live ones (none when they agree)."""
    old, new = _by_topic(live), _by_topic(candidate)
    found = []
    for topic in sorted(old.keys() | new.keys()):
        before, after = old.get(topic), new.get(topic)
        if before == after:
            continue
        if before is None or after is None:
            change = "gained" if before is None else "lost"
        else:
            change = "indicator" if before[0] != after[0] else "wording"
        found.append(Difference(topic, change, before[0] if before else None, after[0] if after else None,
                                before[1] if before else None, after[1] if after else None))
    return tuple(found)
