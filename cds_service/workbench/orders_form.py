"""Draft orders an analyst gives for an order hook's explain run (the workbench form's text box,
`nerve-cds explain --drafts FILE`): one ServiceRequest, a list of them, or a Bundle, made the
hook's `draftOrders` Bundle and checked with the hook's own context model, so the engine sees
exactly what an EHR's order-select or order-sign call would give it. On order-select every
draft given is a selection."""
from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from ..core import jsonin
from ..core.validation import describe
from ..hooks.registry import HOOKS


class DraftsError(ValueError):
    """Draft orders that cannot make the hook's context: the message names the field."""


def order_context(hook: str, context: dict[str, Any], drafts: str) -> dict[str, Any]:
    """`context` with the hook's draftOrders (and selections); unchanged for a hook without drafts."""
    if hook not in HOOKS:
        raise DraftsError(f"unknown hook '{hook}' (known: {', '.join(HOOKS)})")
    if HOOKS[hook].drafts == "none":
        return context
    if not drafts.strip():
        raise DraftsError(f"the {hook} hook needs draft orders: a ServiceRequest, a list of them, or a Bundle")
    try:
        given = jsonin.loads(drafts)
    except jsonin.JsonError as exc:
        raise DraftsError(f"draft orders: {exc}") from None
    resources = _resources(given)
    for n, resource in enumerate(resources):
        resource.setdefault("id", f"workbench-draft-{n + 1}")
        resource.setdefault("status", "draft")
        resource.setdefault("subject", {"reference": f"Patient/{context['patientId']}"})
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in resources]}
    full = {**context, "draftOrders": bundle}
    if HOOKS[hook].drafts == "selected":
        full["selections"] = [f"{r.get('resourceType')}/{r['id']}" for r in resources]
    try:
        HOOKS[hook].context.model_validate(full)
    except ValidationError as exc:
        raise DraftsError(describe(exc, "context.")) from None
    return full


def _resources(given: Any) -> list[dict[str, Any]]:
    if isinstance(given, dict) and given.get("resourceType") == "Bundle":
        entries = given.get("entry") or []
        given = [e.get("resource") if isinstance(e, dict) else None for e in entries] if isinstance(entries, list) else None
    elif isinstance(given, dict):
        given = [given]
    if not isinstance(given, list) or not given or not all(isinstance(r, dict) and r.get("resourceType") for r in given):
        raise DraftsError("draft orders must be a FHIR resource (e.g. a ServiceRequest), a list of them, or a Bundle")
    return [dict(r) for r in given]
