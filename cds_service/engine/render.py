"""Fired rules become CDS Hooks cards: text from the library, facts from the record.

A card is read at 3 a.m. (issue #18), so its detail goes in this order: what to do and why (the
rule's advice), the remarks the guard and other cards add, then what it rests on (the findings
that triggered it, with their dates) and what was looked for in the record and not found. Its
sources are cited once, as its `links`; the detail does not repeat them. Suggested orders are R4
ServiceRequests, validated before they leave the service.
"""
from __future__ import annotations

import uuid
from typing import Any, Callable, Iterable, Mapping, Sequence

from fhir.resources.R4B.servicerequest import ServiceRequest

from ..core.ids import is_fhir_id
from ..library.context import RecordCheck
from ..library.language import TEXT_VALUES
from ..library.orders import order_resource
from ..library.presentation import Presentation
from ..library.rules import Checked, split_detail
from ..library.summaries import BRIEF_LABS_MAX
from . import markdown
from .drafts import Draft
from .findings import Finding, Findings, LabResult, Reading, Study
from .medications import MedicationUse
from .rules import Fired
from .unreadable import Unreadable

NAMESPACE = uuid.UUID("5b7f1c1e-3a57-4d8e-9a43-6f0c1d1a2b7e")
CardId = Callable[[str], str]  # a card's seed (hookInstance|topic) -> its uuid


def plain_card_id(seed: str) -> str:
    """A card uuid for runs whose cards never get feedback (the command line's explain, diffs)."""
    return str(uuid.uuid5(NAMESPACE, seed))


def render(
    fired: Iterable[Fired],
    findings: Findings,
    presentation: Presentation,
    context: Mapping[str, Any],
    draft_reasons: Mapping[str, str] | None = None,
    missing_data: str = "",
    card_id: CardId = plain_card_id,
) -> tuple[list[dict[str, Any]], list[str]]:
    """The cards, each detail holding its advice and remarks, and for each card the evidence that
    goes after any remark added later (engine/repeats.py, engine/arrange.py): `finish` joins them.

    `draft_reasons` maps the Conditions made from drafts' reasonCodes to their draft: they are shown
    as the draft's reason and never referenced, since no such Condition exists on the server.
    `missing_data` names the optional data that could not be had, for {missing_data} in card text.
    `card_id` makes each card's uuid from `hookInstance|topic` (the service signs it: core.cardids)."""
    hook_instance = str(context.get("hookInstance", ""))
    draft_reasons = draft_reasons or {}
    shown = [f for f in fired if not f.rule.silent]
    values = [text_values(f, findings, presentation, draft_reasons, missing_data) for f in shown]
    notes = [(f.rule.id, f.rule.others_note.format_map(v).strip()) for f, v in zip(shown, values) if f.rule.others_note]
    cards = [_card(f, v, [note for rule_id, note in notes if rule_id != f.rule.id], presentation, context,
                   card_id(f"{hook_instance}|{f.rule.topic}"), draft_reasons) for f, v in zip(shown, values)]
    evidence = [_evidence(f, v, findings, presentation) for f, v in zip(shown, values)]
    return cards, evidence


def finish(cards: list[dict[str, Any]], evidence: list[str]) -> None:
    """Each card's detail completed with its evidence, after the remarks added since rendering."""
    for card, tail in zip(cards, evidence):
        card["detail"] += tail


def _evidence(fired: Fired, values: Mapping[str, Any], findings: Findings, presentation: Presentation) -> str:
    """What the card rests on: the rule text's "Triggered by" paragraph, then the record check."""
    parts = [split_detail(fired.text.detail)[1].format_map(values)]
    if fired.text.checked and presentation.record_check:
        parts.append(checked_line(fired.text.checked, findings, presentation))
    return "".join(f"\n\n{part}" for part in parts if part)


def checked_line(checked: Checked, findings: Findings, presentation: Presentation) -> str:
    """"Checked in the record (coded data only; ...): no X or Y. Found there: Z. Ask about: W." A group
    the record holds is named as found, by its findings' labels and its measured values with their
    dates (raised or normal), never said absent or asked about."""
    rc = presentation.record_check
    assert rc is not None, "the loader gives every library its record check"

    def found(group: str) -> list[str]:
        g = rc.groups[group]
        names = [presentation.finding_labels.get(n, n) for n in g.findings if findings.present(n)]
        names += [_reading(r, called, rc) for measure, called in g.readings.items()
                  for r in _named_readings(findings.readings.get(measure, ()))]
        return names + [presentation.medication_titles.get(m, m) for m in g.medications if m in findings.medications]

    held = {group: found(group) for group in checked.not_found + checked.ask_about}
    absent = [rc.groups[g].label for g in checked.not_found if not held[g]]
    ask = [rc.groups[g].label for g in checked.ask_about if not held[g]]
    shown = list(dict.fromkeys(label for labels in held.values() for label in labels))
    line = f"**{rc.heading}** ({rc.basis})"
    line += ": " + rc.none_found.format(items=_or(absent)) + "." if absent else "."
    if shown:
        line += f" **{rc.found}:** {markdown.inline(', '.join(shown))}."
    if ask:
        line += f" **{rc.ask}:** {', '.join(ask)}."
    return line


def _named_readings(readings: Sequence[Reading]) -> list[Reading]:
    """The latest reading, and before it the latest raised one if that is older: a fever last week
    stays named after a normal temperature today."""
    if not readings:
        return []
    raised = [r for r in readings if r.raised]
    return [raised[-1], readings[-1]] if raised and raised[-1] is not readings[-1] else [readings[-1]]


def _reading(reading: Reading, called: str, rc: RecordCheck) -> str:
    """E.g. "temperature 38.2 °C (2026-11-27, raised)": the value in the library's canonical unit."""
    unit = reading.measure.unit
    value = f"{round(reading.value, 1):g} {rc.units.get(unit, unit)}"
    template = rc.raised_reading if reading.raised else rc.reading
    return template.format(name=called, value=value, date=_date(reading.when))


def _or(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} or {items[-1]}"


def _card(fired: Fired, values: Mapping[str, Any], notes: list[str], presentation: Presentation,
          context: Mapping[str, Any], card_id: str, draft_reasons: Mapping[str, str]) -> dict:
    """`notes`: lines other cards of the response add to this one (`others_note` in cards/rules)."""
    rule = fired.rule
    advice = split_detail(fired.text.detail)[0].format_map(values).strip()
    remarks = [r.format_map(values).strip() for r in fired.text.remarks]
    detail = "\n\n".join(part for part in [advice, *remarks, *notes] if part)
    cited = list(dict.fromkeys([*rule.sources, *fired.text.cited]))
    first = presentation.sources[cited[0]]
    card: dict[str, Any] = {
        "uuid": card_id,
        "summary": fired.text.summary.format_map(values).strip(),
        "detail": detail,
        "indicator": fired.indicator,
        "source": {
            "label": presentation.source_label,
            "url": first["url"],
            "topic": {"system": presentation.topic_system, "code": rule.topic, "display": presentation.topics[rule.topic]},
        },
    }
    suggestions = [
        _suggestion(s, fired, presentation, context, card_id, values, draft_reasons) for s in fired.text.suggestions
    ]
    if suggestions:
        card["suggestions"] = suggestions
        card["selectionBehavior"] = rule.selection
    if rule.override_reasons:
        card["overrideReasons"] = [
            {"system": presentation.override_system, "code": r["code"], "display": r["display"]} for r in rule.override_reasons
        ]
    card["links"] = [
        {"label": _cite(presentation.sources[s]), "url": presentation.sources[s]["url"], "type": "absolute"} for s in cited
    ]
    return card


def text_values(fired: Fired, findings: Findings, presentation: Presentation, draft_reasons: Mapping[str, str],
                missing_data: str = "") -> dict[str, Any]:
    values: dict[str, Any] = dict(presentation.setting_texts)
    values["missing_data"] = missing_data or "none"
    values["triggers"] = _triggers(fired.facts, presentation, draft_reasons)
    labs = [f for f in fired.facts if isinstance(f, LabResult)]
    values["contributors"] = _contributors(findings, presentation, labs)
    values["low_labs"] = ", ".join(_lab(f) for f in labs if f.low) or "none"
    low = [f for f in labs if f.low]
    with_values = ", ".join(_lab(f) for f in low)
    names = ", ".join(f"{'corrected ' if f.corrected_with else ''}{f.label or f.name}" for f in low)
    values["low_labs_brief"] = (with_values if len(with_values) <= BRIEF_LABS_MAX else names) or "none"
    values["lab_values"] = "; ".join(_lab_state(f) for f in labs) or "none recorded"
    measured = {f.name for f in labs}
    values["labs_not_measured"] = ", ".join(n for n in presentation.lab_names if n not in measured) or "none"
    values["age"] = findings.age_years if findings.age_years is not None else "unknown"
    unread = [f for f in fired.facts if isinstance(f, Unreadable)]
    values["unreadable_count"] = len({(u.reference, u.element) for u in unread})
    labels = dict.fromkeys(presentation.finding_labels.get(n, n) for u in unread for n in u.about)
    values["unreadable_labels"] = markdown.inline(", ".join(labels)) or "none"
    assert TEXT_VALUES <= values.keys(), "render must fill every placeholder the rule language declares"
    return values


def _lab(lab: LabResult) -> str:
    """E.g. "potassium 3.1 mmol/L"; a corrected value says so: "corrected calcium 2.2 mmol/L"."""
    return f"{'corrected ' if lab.corrected_with else ''}{lab.label or lab.name} {lab.value:g} {lab.unit}"


def _lab_evidence(lab: LabResult) -> str:
    """The lab line under "Triggered by", with what a corrected value was computed from."""
    if lab.corrected_with is None or lab.measured is None:
        return _lab(lab)
    other = lab.corrected_with
    return (f"{_lab(lab)} (measured {lab.measured:g} {lab.unit}, {other.label or other.name} {other.value:g} "
            f"{other.unit} on {_date(other.when)})")


def _lab_state(lab: LabResult) -> str:
    return f"{_lab(lab)} ({'low' if lab.low else 'normal'}, {_date(lab.when)})"


def _triggers(facts: Iterable[Any], presentation: Presentation, draft_reasons: Mapping[str, str]) -> str:
    """A Markdown list of what triggered the card, each resource once: every finding's evidence
    with its date, and the lab results, studies, drafts and medications the rule held on."""
    lines: list[str] = []
    seen: set[str] = set()
    for fact in facts:
        if isinstance(fact, Finding):
            label = presentation.finding_labels.get(fact.name, fact.name)
            for ev in fact.evidence:
                if ev.positive and ev.reference not in seen:  # each resource once, under its first finding
                    seen.add(ev.reference)
                    where = f"reason on {draft_reasons[ev.reference]}" if ev.reference in draft_reasons else ev.reference.split("/")[0]
                    shown = f"{ev.display}, {ev.qualifiers}" if ev.qualifiers else ev.display
                    lines.append(f"- {label}: {markdown.inline(shown)} ({where}, {_date(ev.when)})")
        elif fact.reference not in seen:
            seen.add(fact.reference)
            lines.append(f"- {_fact_line(fact, presentation)}")
    return "\n".join(lines) if lines else "- (no dated findings)"


def _date(when: Any) -> str:
    return when.isoformat() if when else "date not recorded"


def _fact_line(fact: LabResult | Study | Draft | MedicationUse | Unreadable, presentation: Presentation) -> str:
    if isinstance(fact, Unreadable):
        labels = ", ".join(presentation.finding_labels.get(n, n) for n in fact.about)
        return (f"{labels}: could not be read: {markdown.inline(fact.element)}: {markdown.inline(fact.detail)} "
                f"({fact.resource_type}, {_date(fact.when)})")
    if isinstance(fact, LabResult):
        return f"{_lab_evidence(fact)}{' (low)' if fact.low else ''} (Observation, {_date(fact.when)})"
    if isinstance(fact, Study):
        return f"{fact.kind.replace('-', ' ')} {fact.state} ({fact.reference.split('/')[0]}, {_date(fact.when)})"
    if isinstance(fact, Draft):
        return f"Draft order: {markdown.inline(fact.display)}, priority {markdown.inline(fact.priority)} ({fact.reference})"
    return _medication(fact, presentation)


def _medication(use: MedicationUse, presentation: Presentation) -> str:
    """"Systemic corticosteroid: prednisolone 5 MG Oral Tablet, in use since 2024-11-02 (MedicationStatement)"."""
    title = presentation.medication_titles.get(use.kind, use.kind)
    drug = f": {markdown.inline(use.display)}" if use.display else ""
    if use.active:
        course = f"in use since {use.started.isoformat()}" if use.started else "in use, start not recorded"
    else:
        course = f"ended {use.when.isoformat()}" if use.when else "ended, date not recorded"
    return f"{title}{drug}, {course} ({use.reference.split('/')[0]})"


def _contributors(findings: Findings, presentation: Presentation, labs: Iterable[LabResult]) -> str:
    """Contributor findings and medications, and the recent low electrolytes the rule noted (FAS-BEN)."""
    names = [presentation.finding_labels.get(n, n) for n in presentation.contributor_findings if findings.present(n)]
    names += [presentation.medication_titles[vs] for vs in presentation.contributor_medications if vs in findings.medications]
    names += [f"low {_lab(lab)}" for lab in labs if lab.low]
    return ", ".join(names) if names else "none recorded"


def _cite(source: Mapping[str, Any]) -> str:
    return f"{source['title']} ({source['publisher']}, {source['year']})"


def _references(fired: Fired, draft_reasons: Mapping[str, str]) -> list[dict[str, str]]:
    refs: list[str] = []
    for fact in fired.facts:
        if isinstance(fact, Finding):
            refs += [ev.reference for ev in fact.evidence if ev.positive]
        elif isinstance(fact, (LabResult, Study)):
            refs.append(fact.reference)
    kept = (r for r in refs if r.split("/")[0] in ("Condition", "Observation", "DiagnosticReport")
            and is_fhir_id(r.split("/", 1)[1]) and r not in draft_reasons)  # a record's id may be anything
    unique = list(dict.fromkeys(kept))
    return [{"reference": r} for r in unique]


def _suggestion(
    spec: Mapping[str, Any], fired: Fired, presentation: Presentation, context: Mapping[str, Any], card_id: str, values: Mapping[str, Any],
    draft_reasons: Mapping[str, str],
) -> dict[str, Any]:
    """Actions in transaction order: delete the targeted drafts, create new orders, update drafts."""
    targets = [f for f in fired.facts if isinstance(f, Draft) and f.considered]
    actions: list[dict[str, Any]] = []
    if spec.get("delete_drafts"):
        actions += [{"type": "delete", "description": f"Remove the draft order: {d.display}", "resourceId": d.reference}
                    for d in targets]
    order = presentation.orders.get(spec.get("order", ""))
    if order:
        actions += [
            {"type": "create", "description": request.get("description", request["text"]).format_map(values),
             "resource": service_request(request, fired, context, draft_reasons)}
            for request in order["requests"]
        ]
    if spec.get("update_drafts"):
        actions += [_update(d, spec["update_drafts"], presentation, str(context["patientId"])) for d in targets]
    label = spec.get("label")
    if not label:
        assert order is not None, "the loader requires a label on a suggestion without an order"
        label = order["label"]
    suggestion: dict[str, Any] = {
        "label": label.format_map(values),
        "uuid": suggestion_uuid(card_id, spec),
        "actions": actions,
    }
    if spec.get("recommended"):
        suggestion["isRecommended"] = True
    return suggestion


def suggestion_uuid(card_id: str, spec: Mapping[str, Any]) -> str:
    """A suggestion's uuid: its card's and its order (or label), so feedback naming it can be
    read back to the suggestion's label from the library (engine/vocabulary.py)."""
    return str(uuid.uuid5(NAMESPACE, f"{card_id}|{spec.get('order') or spec.get('label')}"))


def _update(draft: Draft, change: Mapping[str, Any], presentation: Presentation, patient_id: str) -> dict[str, Any]:
    """The whole draft, same id, with the code (and body site) of another order or a new priority."""
    resource = draft.valid_copy(patient_id)  # an update must carry a whole, valid resource
    said = []
    if change.get("code_from"):
        request = presentation.orders[change["code_from"]]["requests"][0]
        resource["code"] = {"coding": [dict(c) for c in request["code"]], "text": request["text"]}
        if request.get("bodySite"):
            resource["bodySite"] = [{"coding": [dict(c) for c in request["bodySite"]]}]
        said.append(f"change to {request['text']}")
    if change.get("priority"):
        resource["priority"] = change["priority"]
        said.append(f"priority {change['priority']}")
    ServiceRequest.model_validate(resource)
    return {"type": "update", "description": f"Update the draft order ({draft.display}): {', '.join(said)}",
            "resource": resource}


def service_request(request: Mapping[str, Any], fired: Fired, context: Mapping[str, Any],
                    draft_reasons: Mapping[str, str]) -> dict[str, Any]:
    """A draft R4 ServiceRequest for the hook's patient.

    Only the references differ between requests, and the template itself was validated as an R4
    ServiceRequest when the library loaded (validate_orders), so nothing is re-validated here.
    """
    return order_resource(request, context, _references(fired, draft_reasons))
