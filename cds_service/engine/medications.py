"""Medications from the record, by drug class, as US Core records them.

A MedicationRequest or MedicationStatement names its drug in medicationCodeableConcept or through
medicationReference (a contained Medication, or one the search `_include`d or the service fetched).
The drug class comes from the class value sets listed under `medications` in cards/findings.yaml,
which list RxNorm ingredients and clinical and branded drugs; the code is the only key (free text
is never matched: "naproxen allergy" or "stop ibuprofen" would read as a prescription).

Active orders and statements are current use; completed or stopped ones are past use, dated by
their end (or when written) so rules can ask for use within a window set in cards/settings.yaml.
A MedicationRequest that is a proposal, a plan or an option is not an order, so no use at all; an
intent R4 does not define is unreadable and reported (engine/unreadable.py).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Iterator, Mapping

from ..core import dates, fhirjson
from ..core.ids import reference_key
from ..data.medrefs import medication_reference
from ..data.record import PatientRecord
from ..library.finding_defs import FindingDefs
from ..library.terminology import Terminology
from .unreadable import INTENT_NOT_RECOGNISED, Unreadable, shown

# resourceType -> status -> current ("active") or past ("ended"). Other statuses (cancelled,
# entered-in-error, draft, not-taken, intended, unknown ...) are no evidence of use.
_STATES: Mapping[str, Mapping[str, str]] = {
    "MedicationRequest": {"active": "active", "on-hold": "active", "completed": "ended", "stopped": "ended"},
    "MedicationStatement": {"active": "active", "on-hold": "active", "completed": "ended", "stopped": "ended"},
}
# MedicationRequest.intent (R4): orders, and requests that are not (yet) orders. No intent at all is
# read as an order, as records from before intent was required send them.
_ORDERS = frozenset({"order", "original-order", "reflex-order", "filler-order", "instance-order"})
_NOT_ORDERS = frozenset({"proposal", "plan", "option"})


@dataclass(frozen=True)
class MedicationUse:
    kind: str  # drug class: a value-set id from `medications`
    active: bool
    when: date | None  # end of a past course (or when it was written); None if not recorded
    reference: str
    started: date | None = None  # when the course began, for "in use for at least N days"
    display: str = ""  # the drug as the record names it, for the card's "Triggered by"


def _concept(resource: dict, medications: Mapping[str, dict]) -> Any:
    """medicationCodeableConcept, else the code of the referenced (contained or pooled) Medication."""
    concept = resource.get("medicationCodeableConcept")
    if not isinstance(concept, dict):
        medication: dict
        ref = medication_reference(resource) or ""
        if ref.startswith("#"):
            medication = next((c for c in fhirjson.items(resource.get("contained")) if c.get("id") == ref[1:]), {})
        else:
            medication = medications.get(reference_key(ref) or "", {})
        concept = medication.get("code")
    return concept


def _display(concept: Any) -> str:
    """The drug's name as recorded: the concept's text, else its first coding's display."""
    text = fhirjson.text(fhirjson.mapping(concept).get("text"))
    return text or next((d for c in fhirjson.codings(concept) if (d := fhirjson.text(c.get("display")))), "")


def _ended(resource: dict) -> dates.When | None:
    """When a past course ended, else when it started or was written."""
    if resource.get("resourceType") == "MedicationRequest":
        validity = fhirjson.mapping(fhirjson.mapping(resource.get("dispenseRequest")).get("validityPeriod"))
        return dates.parse(validity.get("end")) or dates.parse(resource.get("authoredOn"))
    period = fhirjson.mapping(resource.get("effectivePeriod"))
    return (dates.parse(period.get("end")) or dates.effective(resource)
            or dates.parse(resource.get("dateAsserted")))


def _started(resource: dict) -> dates.When | None:
    """When a course began: the statement's effective start, else when the order was written."""
    if resource.get("resourceType") == "MedicationRequest":
        return dates.parse(resource.get("authoredOn"))
    period = fhirjson.mapping(resource.get("effectivePeriod"))
    return dates.parse(period.get("start")) or dates.parse(resource.get("effectiveDateTime"))


def _uses(record: PatientRecord) -> Iterator[tuple[dict, str]]:
    for rtype, states in _STATES.items():
        for resource in record.of_type(rtype):
            state = states.get(fhirjson.text(resource.get("status")) or "")
            if state is not None:
                yield resource, state


def _intent(resource: dict) -> str | None:
    """"order" for an order (or a statement), "" for a request that is not one, None if unreadable."""
    if resource.get("resourceType") != "MedicationRequest" or resource.get("intent") is None:
        return "order"
    intent = resource.get("intent")
    if not isinstance(intent, str):
        return None
    return "order" if intent in _ORDERS else "" if intent in _NOT_ORDERS else None


def read_medication_uses(record: PatientRecord, defs: FindingDefs, terminology: Terminology,
                         unreadable: list[Unreadable] | None = None) -> tuple[MedicationUse, ...]:
    """Every current or past use of a drug in one of the classes under `medications`; a request
    whose intent cannot be read is added to `unreadable`."""
    pool = {f"Medication/{m.get('id')}": m for m in record.of_type("Medication")}
    found = []
    for resource, state in _uses(record):
        concept = _concept(resource, pool)
        kinds = terminology.concepts_in(fhirjson.codings(concept)) & defs.medications
        intent = _intent(resource) if kinds else ""
        if intent is None and unreadable is not None:
            unreadable.append(Unreadable(resource["resourceType"], str(resource.get("id")), "intent", INTENT_NOT_RECOGNISED,
                                         f"{shown(resource.get('intent'))} is not an R4 intent", tuple(sorted(kinds))))
        if not intent:
            continue
        when = None if state == "active" else _ended(resource)
        reference = f"{resource['resourceType']}/{resource.get('id')}"
        start = _started(resource)
        found += [MedicationUse(kind, state == "active", when.day if when else None, reference,
                                start.day if start else None, _display(concept)) for kind in sorted(kinds)]
    return tuple(found)
