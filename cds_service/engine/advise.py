"""From the gathered FHIR data to cards: record -> findings -> context -> rules -> guard -> cards -> response.

Everything that can be prepared ahead (value-set index, parsed rules, templates) was prepared
when the library loaded; per request this is one linear pass over the record plus the rules.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Mapping, Sequence

from ..data.ownership import Owner, SetAside
from ..data.record import build_record
from ..library.loader import Library, ServiceDef
from .arrange import arrange
from .drafts import read_drafts, reason_conditions
from .findings import Findings, find
from .guard import guard
from .pama import rating_actions
from .predicates import Context
from .pregnancy import read_pregnancy
from .render import CardId, plain_card_id, render
from .rules import evaluate_rules
from .trace import RuleTrace
from .unreadable import counts


@dataclass
class Advice:
    cards: list[dict[str, Any]]
    system_actions: list[dict[str, Any]] = field(default_factory=list)
    # how many data-quality problems the record had (e.g. a Condition without clinicalStatus),
    # counted for the request log; the notes themselves name resources, so they stay in-process
    data_quality: int = 0
    # what could not be read, counted by reason for the request log (engine/unreadable.py)
    unreadable: dict[str, int] = field(default_factory=dict)
    # resources that did not count: another patient's, no checkable patient, wrong type; the log
    # counts them per reason, explain mode lists them
    set_aside: tuple[SetAside, ...] = ()
    # explain mode only: this run's findings and every rule's outcome (engine/explain.py reads them)
    findings: Findings | None = None
    trace: tuple[RuleTrace, ...] = ()
    withheld: tuple[str, ...] = ()  # rules that fired whose routine card a critical card kept out


def advise(
    library: Library,
    service: ServiceDef,
    context: Mapping[str, Any],
    data: Mapping[str, dict | None],
    now: datetime,
    pama: bool = False,
    missing: frozenset[str] = frozenset(),
    explain: bool = False,
    card_id: CardId = plain_card_id,
    set_aside: Sequence[SetAside] = (),
) -> Advice:
    """`missing`: optional prefetch keys that could be had neither from prefetch nor the server;
    `set_aside`: what gathering the data already left out; with `explain`, the same run also keeps
    its findings and rule trace; `card_id` makes each card's uuid from `hookInstance|topic` (the
    service's signed uuids: core.cardids)."""
    drafts = read_drafts(context, service.hook, library.terminology, library.findings.study_kinds)
    reasons = reason_conditions(drafts, str(context.get("patientId", "")))
    if reasons:  # a draft's indication counts like a recorded condition
        data = {**data, "draftReasons": {"resourceType": "Bundle", "entry": [{"resource": r} for r, _ in reasons]}}
    record = build_record(data, Owner(str(context.get("patientId", "")), data))
    findings = find(record, library.findings, library.terminology, now, explain)
    pregnancy = read_pregnancy(record, findings, library.context.pregnancy, library.terminology, library.settings)
    ctx = Context(findings=findings, settings=library.settings, drafts=drafts, missing=missing, pregnancy=pregnancy)
    trace: list[RuleTrace] | None = [] if explain else None
    fired = evaluate_rules(library.rules, service.hook, ctx, trace)
    actions = rating_actions(drafts, fired, library.pama_kinds, str(context.get("patientId", ""))) if pama else []
    draft_reasons = {f"Condition/{r['id']}": draft for r, draft in reasons}
    missing_data = "; ".join(dict.fromkeys(library.missing_notes[k] for k in service.prefetch if k in missing and k in library.missing_notes))
    shown = [f for f in guard(fired, ctx, library.context, library.presentation, library.terminology) if not f.rule.silent]
    rendered = render(shown, findings, library.presentation, context, draft_reasons, missing_data, card_id)
    cards = arrange(shown, rendered, library.context.orders, library.terminology)
    withheld = tuple(f.rule.id for f, card in zip(shown, rendered) if not any(card is c for c in cards))
    return Advice(cards=cards, system_actions=actions, data_quality=len(findings.data_quality),
                  unreadable=counts(findings.unreadable),
                  set_aside=(*set_aside, *record.set_aside),
                  findings=findings if explain else None, trace=tuple(trace or ()), withheld=withheld)
