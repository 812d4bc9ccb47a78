"""Shadow mode's values: how a candidate card library's answer to a hook call differs from the
live one's, per topic, and the report of those differences per day and topic.

Cards are compared on what the clinician would see and could do: topic, indicator, summary and
suggestions (each one's action types and label: a candidate that adds "delete the drafted MRI"
to a card is a difference). A topic only the candidate shows is `gained`, only the live library
`lost`; on both, another indicator is `indicator`, the same indicator with another summary
`wording`, the same indicator and summary with other suggestions `suggestions`. Every difference
keeps both sides' suggestions. Plain dataclasses: every store takes and gives these.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Iterable

CHANGES = ("gained", "lost", "indicator", "wording", "suggestions")


@dataclass(frozen=True)
class Difference:
    topic: str
    change: str  # one of CHANGES
    live_indicator: str | None = None
    candidate_indicator: str | None = None
    live_summary: str | None = None
    candidate_summary: str | None = None
    live_suggestions: str | None = None  # one line per suggestion, "delete, create: label"
    candidate_suggestions: str | None = None


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


def suggestions_text(card: dict[str, Any]) -> str:
    """A card's suggestions as a clinician reads them: what each does, then its label."""
    lines = []
    for suggestion in card.get("suggestions") or []:
        kinds = ", ".join(dict.fromkeys(str(a.get("type", "")) for a in suggestion.get("actions") or [] if a.get("type")))
        lines.append(f"{kinds or 'no action'}: {suggestion.get('label', '')}")
    return "\n".join(lines)


def _by_topic(cards: Iterable[dict[str, Any]]) -> dict[str, tuple[str, str, str]]:
    return {c.get("source", {}).get("topic", {}).get("code", ""): (c.get("indicator", ""), c.get("summary", ""),
                                                                    suggestions_text(c))
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
            change = "indicator" if before[0] != after[0] else "wording" if before[1] != after[1] else "suggestions"
        found.append(Difference(topic, change, before[0] if before else None, after[0] if after else None,
                                before[1] if before else None, after[1] if after else None,
                                before[2] or None if before else None, after[2] or None if after else None))
    return tuple(found)


CHANGE_WORDS = {"gained": "only the candidate shows it", "lost": "only the live library shows it",
                "indicator": "another indicator", "wording": "another summary", "suggestions": "other suggestions"}


def by_call(shown: Iterable[StoredDifference]) -> list[list[StoredDifference]]:
    """Revealed differences grouped per hook call, in the order the calls were recorded."""
    calls: dict[str, list[StoredDifference]] = {}
    for difference in shown:
        calls.setdefault(difference.hook_instance, []).append(difference)
    return list(calls.values())
