"""From the gathered FHIR data to cards: record -> findings -> context -> rules -> guard -> cards -> repeats -> response.

Everything that can be prepared ahead (value-set index, parsed rules, templates) was prepared
when the library loaded; per request this is one linear pass over the record plus the rules.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Mapping

from ..core.errors import PreconditionFailed
from ..data.ownership import Owner, SetAside, check_drafts
from ..data.record import PatientRecord, build_record
from ..library.loader import Library, ServiceDef
from .arrange import arrange
from .drafts import read_drafts, reason_conditions
from .findings import Findings, find
from .guard import guard
from .pama import rating_actions
from .predicates import Context
from .pregnancy import read_pregnancy
from .render import CardId, finish, plain_card_id, render
from .repeats import drop_repeats
from .rules import Fired, evaluate_rules
from .trace import RuleTrace
from .uncovered import UncoveredCode, uncovered_codes
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
    # codings of the record in no value set: (system, code, display), never whose (engine/uncovered.py)
    uncovered: tuple[UncoveredCode, ...] = ()
    # explain mode only: this run's findings and every rule's outcome (engine/explain.py reads them)
    findings: Findings | None = None
    trace: tuple[RuleTrace, ...] = ()
    withheld: tuple[str, ...] = ()  # rules that fired whose routine card a critical card kept out
    # §6.14: topics that shadow-status rules would have shown (never in `cards`); the log counts
    # them, explain mode shows the would-be cards (`shadow_cards`, rendered only then)
    shadow: tuple[str, ...] = ()
    shadow_cards: tuple[dict[str, Any], ...] = ()
    # the rule that made each card, by card uuid: analytics count per rule (web/issued.py)
    card_rules: Mapping[str, str] = field(default_factory=dict)


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
    owner: Owner | None = None,
    record: PatientRecord | None = None,
) -> Advice:
    """`missing`: optional prefetch keys that could be had neither from prefetch nor the server;
    with `explain`, the same run also keeps its findings and rule trace; `card_id` makes each card's uuid from `hookInstance|topic` (the
    service's signed uuids: core.cardids). `owner`: who gathering judged the data to be about
    (data.prefetch.Gathered.owner); without it (data not gathered: a fixture, a saved request) the
    data is judged as given. `record`: the gathered data already read (Gathered.record), so it is
    not walked again."""
    patient_id = str(context.get("patientId", ""))
    if owner is None:
        owner = Owner(patient_id, {**data, "draftOrders": context.get("draftOrders")})
    check_drafts(context.get("draftOrders"), owner)
    if record is None:
        record = build_record(data, owner, service.prefetch)
        emptied = {k: why for k, why in record.wrong_keys.items() if k in service.required_prefetch}
        if emptied:  # never advise on a required key silently emptied of this patient's data
            detail = "; ".join(f"{k}: {r}" for k, r in sorted(emptied.items()))
            raise PreconditionFailed(f"prefetch data is not this patient's ({detail})", keys=tuple(sorted(emptied)))
    drafts = read_drafts(context, service.hook, library.terminology, library.findings.study_kinds)
    reasons = reason_conditions(drafts, patient_id)
    if reasons:  # a draft's indication counts like a recorded condition
        record = record.with_added([r for r, _ in reasons], owner)
    findings = find(record, library.findings, library.terminology, now, explain)
    pregnancy = read_pregnancy(record, findings, library.context.pregnancy, library.terminology, library.settings)
    ctx = Context(findings=findings, settings=library.settings, drafts=drafts, missing=missing, pregnancy=pregnancy)
    trace: list[RuleTrace] | None = [] if explain else None
    in_shadow: list[Fired] = []
    fired = evaluate_rules(library.rules, service.hook, ctx, trace, in_shadow)
    actions = rating_actions(drafts, fired, library.pama_kinds, patient_id) if pama else []
    draft_reasons = {f"Condition/{r['id']}": draft for r, draft in reasons}
    missing_data = "; ".join(dict.fromkeys(library.missing_notes[k] for k in service.prefetch if k in missing and k in library.missing_notes))
    shown = [f for f in guard(fired, ctx, library.context, library.presentation, library.terminology) if not f.rule.silent]
    rendered, evidence = render(shown, findings, library.presentation, context, draft_reasons, missing_data, card_id)
    drop_repeats(rendered, ctx, library.context.repeats, library.terminology)
    cards = arrange(shown, rendered, library.context.orders, library.terminology, library.presentation.orders)
    finish(rendered, evidence)
    withheld = tuple(f.rule.id for f, card in zip(shown, rendered) if not any(card is c for c in cards))
    made_by = {str(card["uuid"]): f.rule.id for f, card in zip(shown, rendered)}
    would = [f for f in in_shadow if not f.rule.silent]
    shadow_cards: list[dict[str, Any]] = []
    if explain:
        shadow_cards, shadow_evidence = render(guard(would, ctx, library.context, library.presentation, library.terminology),
                                               findings, library.presentation, context, draft_reasons, missing_data, card_id)
        finish(shadow_cards, shadow_evidence)
    return Advice(cards=cards, system_actions=actions, data_quality=len(findings.data_quality),
                  unreadable=counts(findings.unreadable), uncovered=uncovered_codes(record, library.terminology),
                  set_aside=tuple(record.set_aside),
                  findings=findings if explain else None, trace=tuple(trace or ()), withheld=withheld,
                  shadow=tuple(f.rule.topic for f in would), shadow_cards=tuple(shadow_cards),
                  card_rules={str(c["uuid"]): made_by[str(c["uuid"])] for c in cards if str(c["uuid"]) in made_by})
