"""Draft orders from an order-select or order-sign context, recognised through the order value sets.

order-select advises on the selected drafts and keeps the rest as context; order-sign advises on
every draft. Neither filters on status (re-signed orders are not drafts). A draft's own
reasonCode is evidence like a Condition, because EHR traffic often carries the indication only there.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from fhir.resources.R4B.servicerequest import ServiceRequest
from pydantic import ValidationError

from ..core import fhirjson
from ..hooks.registry import HOOKS
from ..library.terminology import Terminology


@dataclass(frozen=True)
class Draft:
    reference: str  # "ServiceRequest/abc"
    resource: Mapping[str, Any]
    kinds: frozenset[str]  # order value-set ids the draft's code belongs to
    considered: bool  # selected (order-select) or any draft (order-sign)

    @property
    def priority(self) -> str:
        return fhirjson.text(self.resource.get("priority")) or "routine"

    def valid_copy(self, patient_id: str) -> dict[str, Any]:
        """The draft as a whole R4 ServiceRequest a card can send back in an update."""
        return valid_service_request(self.resource, patient_id)

    @property
    def display(self) -> str:
        code = fhirjson.mapping(self.resource.get("code"))
        if text := fhirjson.text(code.get("text")):
            return text
        for coding in fhirjson.codings(code):
            if display := fhirjson.text(coding.get("display")):
                return display
        return self.reference


def read_drafts(context: Mapping[str, Any], hook: str, terminology: Terminology, kinds: frozenset[str]) -> tuple[Draft, ...]:
    bundle = context.get("draftOrders")
    handling = HOOKS[hook].drafts
    if handling == "none" or not isinstance(bundle, dict):
        return ()
    selections = set(context.get("selections") or ()) if handling == "selected" else None
    drafts = []
    for entry in fhirjson.items(bundle.get("entry")):
        resource = fhirjson.mapping(fhirjson.mapping(entry).get("resource"))
        if resource.get("resourceType") != "ServiceRequest" or not fhirjson.text(resource.get("id")):
            continue
        reference = f"ServiceRequest/{resource['id']}"
        found = terminology.concepts_in(fhirjson.codings(resource.get("code"))) & kinds
        considered = selections is None or reference in selections
        drafts.append(Draft(reference, resource, frozenset(found), considered))
    return tuple(drafts)


def reason_conditions(drafts: tuple[Draft, ...], patient_id: str) -> list[tuple[dict[str, Any], str]]:
    """Each draft's reasonCode as an active Condition, so it counts as a finding: EHR drafts often
    carry the indication only there. Each stand-in comes with its draft's reference; stand-ins
    exist only for this request."""
    conditions = []
    for draft in drafts:
        for i, concept in enumerate(fhirjson.items(draft.resource.get("reasonCode"))):
            codings = fhirjson.codings(concept)
            if not codings:
                continue
            conditions.append(({
                "resourceType": "Condition",
                "id": f"{draft.resource['id']}-reason-{i}",
                "subject": {"reference": f"Patient/{patient_id}"},
                "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]},
                "code": {"coding": codings},
                "recordedDate": draft.resource.get("authoredOn"),
            }, draft.reference))
    return conditions


def _without_empty(value: Any) -> Any:
    """Nulls, "", [] and {} dropped at every level (the CDS Hooks Sandbox sends `reasonCode: []`)."""
    if isinstance(value, dict):
        kept = {k: _without_empty(v) for k, v in value.items()}
        return {k: v for k, v in kept.items() if v not in (None, "", [], {})}
    if isinstance(value, list):
        kept_items = [_without_empty(v) for v in value]
        return [v for v in kept_items if v not in (None, "", [], {})]
    return value


def _child(parent: Any, step: Any) -> bool:
    if isinstance(parent, dict):
        return step in parent
    return isinstance(parent, list) and isinstance(step, int) and 0 <= step < len(parent)


def _blank(resource: dict[str, Any], loc: tuple) -> bool:
    """Set the element at `loc` to None (True if one was). When the path ends early (a required
    child is missing, or validation names a part inside a value), the deepest element present is
    the invalid one."""
    parent: Any = resource
    for n, step in enumerate(loc):
        if not _child(parent, step):
            return False
        if n + 1 == len(loc) or not _child(parent[step], loc[n + 1]):
            parent[step] = None
            return True
        parent = parent[step]
    return False


_MAX_REPAIRS = 8
_KEPT = ("resourceType", "id")


def _with_required(copy: dict[str, Any], resource: Mapping[str, Any], patient_id: str) -> dict[str, Any]:
    """resourceType and id as sent (checked when the request was parsed); the rest R4 requires."""
    copy.update({k: resource[k] for k in _KEPT})
    copy.setdefault("status", "draft")
    copy.setdefault("intent", "order")
    copy.setdefault("subject", {"reference": f"Patient/{patient_id}"})
    return copy


def valid_service_request(resource: Mapping[str, Any], patient_id: str) -> dict[str, Any]:
    """`resource` as a whole, valid R4 ServiceRequest for an update: empty members dropped, the
    elements R4 requires filled in when missing, and every element R4 validation names left out,
    so a card copying a draft carries what was valid instead of failing the whole response."""
    copy = _with_required(_without_empty(dict(resource)), resource, patient_id)
    for _ in range(_MAX_REPAIRS):
        try:
            ServiceRequest.model_validate(copy)
            return copy
        except ValidationError as exc:
            for error in exc.errors(include_input=False, include_url=False):
                loc = tuple(error["loc"])
                if not _blank(copy, loc) and loc and isinstance(loc[0], str) and loc[0] not in _KEPT:
                    copy.pop(loc[0], None)
        copy = _with_required(_without_empty(copy), resource, patient_id)
    return _with_required({}, resource, patient_id)  # nothing else could be kept
