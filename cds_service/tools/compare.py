"""Run every scenario against two card libraries and say which scenarios' cards differ.

This is the analyst's check after changing a threshold, a code or a rule: no FHIR server needed,
each scenario's resources go straight to the engine as if prefetched.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timezone
from pathlib import Path

from ..engine.advise import advise
from ..library.loader import Library
from .scenarios import Scenario, list_scenarios, load_scenario

Card = tuple[str, str, str]  # topic, indicator, summary


@dataclass(frozen=True)
class Difference:
    scenario: str
    before: tuple[Card, ...]
    after: tuple[Card, ...]


def scenario_advice(library: Library, scenario: Scenario, today: date) -> list[dict]:
    """The cards a scenario gets, its resources handed to the engine as if prefetched."""
    service = next(s for s in library.services if s.hook == scenario.request["hook"])
    data = {"record": {"resourceType": "Bundle", "type": "searchset",
                       "entry": [{"resource": e["resource"]} for e in scenario.bundle["entry"]]}}
    context = {**scenario.request["context"], "hookInstance": scenario.request["hookInstance"]}
    now = datetime.combine(today, time(12, 0), timezone.utc)
    return advise(library, service, context, data, now).cards


def scenario_cards(library: Library, scenario: Scenario, today: date) -> tuple[Card, ...]:
    cards = scenario_advice(library, scenario, today)
    return tuple(sorted((c["source"]["topic"]["code"], c["indicator"], c["summary"]) for c in cards))


def compare(before: Library, after: Library, fixtures_dir: Path, today: date) -> list[Difference]:
    differences = []
    for sid in list_scenarios(fixtures_dir):
        scenario = load_scenario(fixtures_dir, sid, today)
        old, new = scenario_cards(before, scenario, today), scenario_cards(after, scenario, today)
        if old != new:
            differences.append(Difference(sid, old, new))
    return differences
