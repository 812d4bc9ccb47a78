"""Draft orders from an order-select or order-sign context, recognised through the order value sets.

order-select advises on the selected drafts and keeps the rest as context; order-sign advises on
every draft. Neither filters on status (re-signed orders are not drafts). A draft's own
reasonCode is evidence like a Condition, because EHR traffic often carries the indication only there.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from ..core import fhirjson as fj
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
        return str(self.resource.get("priority") or "routine")

    @property
    def display(self) -> str:
        code = fj.mapping(self.resource.get("code"))
        if fj.text(code.get("text")):
            return fj.text(code.get("text"))
        for coding in fj.codings(code):
            if fj.text(coding.get("display")):
                return fj.text(coding.get("display"))
        return self.reference


def read_drafts(context: Mapping[str, Any], hook: str, terminology: Terminology, kinds: frozenset[str]) -> tuple[Draft, ...]:
    bundle = context.get("draftOrders")
    handling = HOOKS[hook].drafts
    if handling == "none" or not isinstance(bundle, dict):
        return ()
    selections = set(context.get("selections") or ()) if handling == "selected" else None
    drafts = []
    for entry in fj.items(bundle.get("entry")):
        resource = fj.mapping(fj.mapping(entry).get("resource"))
        if resource.get("resourceType") != "ServiceRequest" or not fj.text(resource.get("id")):
            continue
        reference = f"ServiceRequest/{resource['id']}"
        found = terminology.concepts_in(fj.codings(resource.get("code"))) & kinds
        considered = selections is None or reference in selections
        drafts.append(Draft(reference, resource, frozenset(found), considered))
    return tuple(drafts)


def reason_conditions(drafts: tuple[Draft, ...], patient_id: str) -> list[tuple[dict[str, Any], str]]:
    """Each draft's reasonCode as an active Condition, so it counts as a finding: EHR drafts often
    carry the indication only there. Each stand-in comes with its draft's reference; stand-ins
    exist only for this request."""
    conditions = []
    for draft in drafts:
        for i, concept in enumerate(fj.items(draft.resource.get("reasonCode"))):
            codings = fj.codings(concept)
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
