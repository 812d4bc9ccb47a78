"""Fired rules become CDS Hooks cards: text from the library, facts from the record.

A card says what it recommends (summary), why (the findings that triggered it, with their dates)
and on whose authority (the guideline, its year and a link). Suggested orders are R4
ServiceRequests, validated before they leave the service.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from fhir.resources.R4B.servicerequest import ServiceRequest

from . import fhirjson as fj, markdown
from .drafts import Draft
from .findings import Finding, Findings, LabResult, Study
from .rules import Fired

NAMESPACE = uuid.UUID("5b7f1c1e-3a57-4d8e-9a43-6f0c1d1a2b7e")


@dataclass(frozen=True)
class Presentation:
    """Library parts rendering needs: sources, orders, settings, topic and override systems."""

    sources: Mapping[str, Mapping[str, Any]]
    orders: Mapping[str, Mapping[str, Any]]
    settings: Mapping[str, float]
    topics: Mapping[str, str]
    topic_system: str
    override_system: str
    source_label: str
    finding_labels: Mapping[str, str]
    contributor_findings: tuple[str, ...]
    setting_texts: Mapping[str, str]  # each threshold as text, and in weeks as `<name>_weeks`


def setting_texts(settings: Mapping[str, float]) -> dict[str, str]:
    texts = {}
    for name, value in settings.items():
        texts[name] = _number(value)
        texts[f"{name}_weeks"] = _number(value / 7)
    return texts


def render(
    fired: Iterable[Fired],
    findings: Findings,
    look: Presentation,
    context: Mapping[str, Any],
    stand_ins: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """`stand_ins` maps the Conditions made from drafts' reasonCodes to their draft: they are shown
    as the draft's reason and never referenced, since no such Condition exists on the server."""
    hook_instance = str(context.get("hookInstance", ""))
    stand_ins = stand_ins or {}
    return [_card(f, findings, look, context, hook_instance, stand_ins) for f in fired if not f.rule.silent]


def _card(fired: Fired, findings: Findings, look: Presentation, context: Mapping[str, Any], hook_instance: str,
          stand_ins: Mapping[str, str]) -> dict:
    rule = fired.rule
    values = text_values(fired, findings, look, stand_ins)
    card_id = str(uuid.uuid5(NAMESPACE, f"{hook_instance}|{rule.topic}"))
    detail = fired.text.detail.format_map(values).strip()
    detail += "\n\n" + _sources_markdown(rule.sources, look)
    first = look.sources[rule.sources[0]]
    card: dict[str, Any] = {
        "uuid": card_id,
        "summary": fired.text.summary.format_map(values).strip(),
        "detail": detail,
        "indicator": fired.indicator,
        "source": {
            "label": look.source_label,
            "url": first["url"],
            "topic": {"system": look.topic_system, "code": rule.topic, "display": look.topics[rule.topic]},
        },
    }
    suggestions = [
        _suggestion(s, fired, look, context, card_id, values, stand_ins) for s in fired.text.suggestions
    ]
    if suggestions:
        card["suggestions"] = suggestions
        card["selectionBehavior"] = rule.selection
    if rule.override_reasons:
        card["overrideReasons"] = [
            {"system": look.override_system, "code": r["code"], "display": r["display"]} for r in rule.override_reasons
        ]
    card["links"] = [
        {"label": _cite(look.sources[s]), "url": look.sources[s]["url"], "type": "absolute"} for s in rule.sources
    ]
    return card


def text_values(fired: Fired, findings: Findings, look: Presentation, stand_ins: Mapping[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = dict(look.setting_texts)
    values["triggers"] = _triggers(fired.facts, look, stand_ins)
    values["contributors"] = _contributors(findings, look)
    values["low_labs"] = ", ".join(_lab(f) for f in fired.facts if isinstance(f, LabResult) and f.low) or "none"
    values["age"] = findings.age_years if findings.age_years is not None else "unknown"
    return values


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _lab(lab: LabResult) -> str:
    return f"{lab.name} {lab.value:g} {lab.unit}"


def _triggers(facts: Iterable[Any], look: Presentation, stand_ins: Mapping[str, str]) -> str:
    """A Markdown list of what triggered the card: each finding's evidence with its date."""
    lines: list[str] = []
    seen: set[str] = set()
    for fact in facts:
        if isinstance(fact, Finding):
            label = look.finding_labels.get(fact.name, fact.name)
            for ev in fact.evidence:
                if ev.positive and ev.reference not in seen:  # each resource once, under its first finding
                    seen.add(ev.reference)
                    when = ev.when.isoformat() if ev.when else "date not recorded"
                    where = f"reason on {stand_ins[ev.reference]}" if ev.reference in stand_ins else ev.reference.split("/")[0]
                    lines.append(f"- {label}: {markdown.inline(ev.display)} ({where}, {when})")
        elif isinstance(fact, LabResult) and fact.reference not in seen:
            seen.add(fact.reference)
            when = fact.when.isoformat() if fact.when else "date not recorded"
            lines.append(f"- {_lab(fact)}{' (low)' if fact.low else ''} (Observation, {when})")
        elif isinstance(fact, Draft) and fact.reference not in seen:
            seen.add(fact.reference)
            lines.append(f"- Draft order: {markdown.inline(fact.display)}, priority {markdown.inline(fact.priority)}"
                         f" ({fact.reference})")
        elif isinstance(fact, Study) and fact.reference not in seen:
            seen.add(fact.reference)
            when = fact.when.isoformat() if fact.when else "date not recorded"
            lines.append(f"- {fact.kind.replace('-', ' ')} {fact.state} ({fact.reference.split('/')[0]}, {when})")
    return "\n".join(lines) if lines else "- (no dated findings)"


def _contributors(findings: Findings, look: Presentation) -> str:
    names = [look.finding_labels.get(n, n) for n in look.contributor_findings if findings.present(n)]
    return ", ".join(names) if names else "none recorded"


def _cite(source: Mapping[str, Any]) -> str:
    return f"{source['title']} ({source['publisher']}, {source['year']})"


def _sources_markdown(ids: Iterable[str], look: Presentation) -> str:
    return "**Sources:** " + "; ".join(f"[{_cite(look.sources[i])}]({look.sources[i]['url']})" for i in ids)


def _references(fired: Fired, stand_ins: Mapping[str, str]) -> list[dict[str, str]]:
    refs: list[str] = []
    for fact in fired.facts:
        if isinstance(fact, Finding):
            refs += [ev.reference for ev in fact.evidence if ev.positive]
        elif isinstance(fact, (LabResult, Study)):
            refs.append(fact.reference)
    kept = (r for r in refs if r.split("/")[0] in ("Condition", "Observation", "DiagnosticReport")
            and fj.is_id(r.split("/", 1)[1]) and r not in stand_ins)  # a record's id may be anything
    unique = list(dict.fromkeys(kept))
    return [{"reference": r} for r in unique]


def _suggestion(
    spec: Mapping[str, Any], fired: Fired, look: Presentation, context: Mapping[str, Any], card_id: str, values: Mapping[str, Any],
    stand_ins: Mapping[str, str],
) -> dict[str, Any]:
    """Actions in transaction order: delete the targeted drafts, create new orders, update drafts."""
    targets = [f for f in fired.facts if isinstance(f, Draft) and f.considered]
    actions: list[dict[str, Any]] = []
    if spec.get("delete_drafts"):
        actions += [{"type": "delete", "description": f"Remove the draft order: {d.display}", "resourceId": d.reference}
                    for d in targets]
    order = look.orders.get(spec.get("order", ""))
    if order:
        actions += [
            {"type": "create", "description": request.get("description", request["text"]).format_map(values),
             "resource": service_request(request, fired, context, stand_ins)}
            for request in order["requests"]
        ]
    if spec.get("update_drafts"):
        actions += [_update(d, spec["update_drafts"], look, str(context["patientId"])) for d in targets]
    label = spec.get("label") or order["label"]
    suggestion: dict[str, Any] = {
        "label": label.format_map(values),
        "uuid": str(uuid.uuid5(NAMESPACE, f"{card_id}|{spec.get('order') or label}")),
        "actions": actions,
    }
    if spec.get("recommended"):
        suggestion["isRecommended"] = True
    return suggestion


def _update(draft: Draft, change: Mapping[str, Any], look: Presentation, patient_id: str) -> dict[str, Any]:
    """The whole draft, same id, with the code (and body site) of another order or a new priority."""
    resource = draft.valid_copy(patient_id)  # an update must carry a whole, valid resource
    said = []
    if change.get("code_from"):
        request = look.orders[change["code_from"]]["requests"][0]
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
                    stand_ins: Mapping[str, str]) -> dict[str, Any]:
    """A draft R4 ServiceRequest for the hook's patient.

    Only the references differ between requests, and the template itself was validated as an R4
    ServiceRequest when the library loaded (validate_orders), so nothing is re-validated here.
    """
    return _order(request, context, _references(fired, stand_ins))


def _order(request: Mapping[str, Any], context: Mapping[str, Any], reasons: list[dict[str, str]]) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "ServiceRequest",
        "status": "draft",
        "intent": request.get("intent", "proposal"),
        "category": [{"coding": [dict(c) for c in request["category"]]}] if request.get("category") else None,
        "priority": request.get("priority"),
        "code": {"coding": [dict(c) for c in request["code"]], "text": request["text"]},
        "subject": {"reference": f"Patient/{context['patientId']}"},
        "encounter": {"reference": f"Encounter/{context['encounterId']}"} if context.get("encounterId") else None,
        "requester": _requester(context.get("userId")),
        "reasonReference": reasons or None,
        "bodySite": [{"coding": [dict(c) for c in request["bodySite"]]}] if request.get("bodySite") else None,
        "note": [{"text": request["note"]}] if request.get("note") else None,
    }
    return {k: v for k, v in resource.items() if v is not None}


def validate_orders(orders: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Problems with order templates as R4 ServiceRequests, checked once at library load."""
    example = {"patientId": "example", "encounterId": "example", "userId": "Practitioner/example"}
    problems = []
    for name, order in orders.items():
        for i, request in enumerate(order["requests"]):
            try:
                ServiceRequest.model_validate(_order(request, example, [{"reference": "Condition/example"}]))
            except ValueError as exc:
                problems.append(f"orders.{name}.requests[{i}]: not a valid R4 ServiceRequest: {str(exc).splitlines()[0]}")
    return problems


def _requester(user_id: str | None) -> dict[str, str] | None:
    if user_id and user_id.split("/")[0] in ("Practitioner", "PractitionerRole"):
        return {"reference": user_id}
    return None
