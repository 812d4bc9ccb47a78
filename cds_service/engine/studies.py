"""Studies already done or ordered (H7 de-duplication) and active medications, from the record.

A study is any ServiceRequest, Procedure, ImagingStudy or DiagnosticReport coded in one of the
order value sets listed under `studies` in cards/findings.yaml; state says whether it happened
("done") or is still pending ("open"). What counts as done or open is FHIR R4 status semantics.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Mapping

from ..core import dates
from ..core import fhirjson as fj
from ..library.finding_defs import FindingDefs
from ..library.terminology import Terminology
from .record import PatientRecord

# resourceType -> status -> state. Statuses not listed (cancelled, revoked, entered-in-error,
# not-done, stopped, unknown ...) mean the study neither happened nor is pending.
_STATES: Mapping[str, Mapping[str, str]] = {
    "ServiceRequest": {"completed": "done", "active": "open", "draft": "open", "on-hold": "open"},
    "Procedure": {"completed": "done"},
    "ImagingStudy": {"available": "done", "registered": "open"},
    "DiagnosticReport": {
        "final": "done", "amended": "done", "corrected": "done", "appended": "done",
        "preliminary": "done", "partial": "done", "registered": "open",
    },
}
_ACTIVE_MEDICATION = {"MedicationStatement": ("active",), "MedicationRequest": ("active",)}


@dataclass(frozen=True)
class Study:
    kind: str
    state: str  # "done" | "open"
    when: date | None
    reference: str
    conclusions: frozenset[str] = frozenset()  # value sets of a report's conclusionCode (e.g. MRI normal)


def _codings(resource: dict) -> list[dict]:
    """ImagingStudy.procedureCode (a list); the others' code."""
    if resource.get("resourceType") == "ImagingStudy":
        return [c for concept in fj.items(resource.get("procedureCode")) for c in fj.codings(concept)]
    return fj.codings(resource.get("code"))


def _study_when(resource: dict) -> dates.When | None:
    rtype = resource.get("resourceType")
    if rtype == "ServiceRequest":
        return (
            dates.parse(resource.get("occurrenceDateTime"))
            or dates.parse_period_start(resource.get("occurrencePeriod"))
            or dates.parse(resource.get("authoredOn"))
        )
    if rtype == "Procedure":
        return dates.parse(resource.get("performedDateTime")) or dates.parse_period_start(resource.get("performedPeriod"))
    if rtype == "ImagingStudy":
        return dates.parse(resource.get("started"))
    return dates.effective(resource) or dates.parse(resource.get("issued"))


def read_studies(record: PatientRecord, defs: FindingDefs, terminology: Terminology) -> tuple[Study, ...]:
    studies = []
    for rtype, states in _STATES.items():
        for resource in record.of_type(rtype):
            state = states.get(fj.text(resource.get("status")) or "")
            if state is None:
                continue
            kinds = terminology.concepts_in(_codings(resource)) & defs.study_kinds
            if not kinds:
                continue
            when = _study_when(resource)
            reference = f"{rtype}/{resource.get('id')}"
            conclusions = frozenset().union(*(terminology.concepts_in(fj.codings(c))
                                              for c in fj.items(resource.get("conclusionCode"))))
            for kind in sorted(kinds):
                studies.append(Study(kind, state, when.day if when else None, reference, conclusions))
    return tuple(studies)


def _medication_codings(resource: dict, medications: Mapping[str, dict]) -> list[dict]:
    """medicationCodeableConcept, else the code of the referenced (or contained) Medication."""
    concept = resource.get("medicationCodeableConcept")
    if not isinstance(concept, dict):
        ref = fj.text(fj.mapping(resource.get("medicationReference")).get("reference")) or ""
        if ref.startswith("#"):
            medication = next((c for c in fj.items(resource.get("contained")) if c.get("id") == ref[1:]), {})
        else:
            medication = medications.get(ref, {})
        concept = medication.get("code")
    return fj.codings(concept)


def read_medications(record: PatientRecord, defs: FindingDefs, terminology: Terminology) -> frozenset[str]:
    """Value-set ids (from `medications` in cards/findings.yaml) of the active medications."""
    found: set[str] = set()
    medications = {f"Medication/{m.get('id')}": m for m in record.of_type("Medication")}
    for rtype, statuses in _ACTIVE_MEDICATION.items():
        for resource in record.of_type(rtype):
            if fj.text(resource.get("status")) in statuses:
                found |= terminology.concepts_in(_medication_codings(resource, medications)) & defs.medications
    return frozenset(found)
