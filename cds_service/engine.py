"""From the gathered FHIR data to cards: record -> findings -> rules -> cards.

Everything that can be prepared ahead (value-set index, parsed rules, templates) was prepared
when the library loaded; per request this is one linear pass over the record plus the rules.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Mapping

from .findings import find
from .library import Library, ServiceDef
from .predicates import Context
from .record import build_record
from .render import render
from .rules import evaluate_rules


@dataclass
class Advice:
    cards: list[dict[str, Any]]
    system_actions: list[dict[str, Any]] = field(default_factory=list)


def advise(
    library: Library,
    service: ServiceDef,
    context: Mapping[str, Any],
    data: Mapping[str, dict | None],
    now: datetime,
) -> Advice:
    record = build_record(data)
    findings = find(record, library.findings, library.terminology, now)
    ctx = Context(findings=findings, settings=library.settings)
    fired = evaluate_rules(library.rules, service.hook, ctx)
    return Advice(cards=render(fired, findings, library.presentation, context))
