"""Run every scenario against two card libraries and say which scenarios' cards differ.

This is the analyst's check after changing a threshold, a code or a rule: no FHIR server needed,
each scenario's resources go straight to the engine as if prefetched. The work is the
workbench's preview (workbench/preview.py); this is its fixture-only, cards-only view.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from ..library.loader import Library
from ..workbench.cases import fixture_cases, noon
from ..workbench.preview import Card, preview


@dataclass(frozen=True)
class Difference:
    scenario: str
    before: tuple[Card, ...]
    after: tuple[Card, ...]


def compare(before: Library, after: Library, fixtures_dir: Path, today: date) -> list[Difference]:
    result = preview(before, after, fixture_cases(fixtures_dir, today), noon(today))
    return [Difference(c.case, c.before, c.after) for c in result.changes]
