"""Order templates from cards/orders.yaml become R4 ServiceRequests: checked once at load, then
filled per request with the hook's patient, encounter, user and reasons.

fhir.resources ships R4B models, not R4 ones; R4B left ServiceRequest as R4 defined it (its
changes are in the medicinal-product, evidence and subscription resources), so the R4B model is
the R4 check.
"""
from __future__ import annotations

from typing import Any, Mapping

from fhir.resources.R4B.servicerequest import ServiceRequest


def order_resource(request: Mapping[str, Any], context: Mapping[str, Any], reasons: list[dict[str, str]]) -> dict[str, Any]:
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
                ServiceRequest.model_validate(order_resource(request, example, [{"reference": "Condition/example"}]))
            except ValueError as exc:
                problems.append(f"orders.{name}.requests[{i}]: not a valid R4 ServiceRequest: {str(exc).splitlines()[0]}")
    return problems


def _requester(user_id: str | None) -> dict[str, str] | None:
    if user_id and user_id.split("/")[0] in ("Practitioner", "PractitionerRole"):
        return {"reference": user_id}
    return None
