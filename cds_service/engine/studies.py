"""Studies already done or ordered (H7 de-duplication, evidence of care), from the record.

A study is any ServiceRequest, Procedure, ImagingStudy or DiagnosticReport, or CarePlan activity
(Synthea and many EHRs record physiotherapy as a plan activity, not a procedure), coded in one of
the order value sets listed under `studies` in cards/findings.yaml; state says whether it happened
("done") or is still pending ("open"). What counts as done or open is FHIR R4 status semantics.

Two things that change the study, not the indication (CLINICAL §6.9(d)), are read the same way:
an implant (Device.type) and an allergy (AllergyIntolerance.code), "done" while in place or in
force. An implant or allergy whose status is missing or unknown counts: for MR safety the safe
reading is that it is there.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Mapping

from ..core import dates, fhirjson
from ..data.record import PatientRecord
from ..library.finding_defs import FindingDefs
from ..library.terminology import Terminology

# resourceType -> status -> state. Statuses not listed (cancelled, revoked, entered-in-error,
# not-done, stopped, unknown ...) mean the study neither happened nor is pending.
_STATES: Mapping[str, Mapping[str, str]] = {
    "ServiceRequest": {"completed": "done", "active": "open", "draft": "open", "on-hold": "open"},
    # a procedure under way (physiotherapy in progress) is care being given, as a CarePlan activity is
    "Procedure": {"completed": "done", "in-progress": "done"},
    "ImagingStudy": {"available": "done", "registered": "open"},
    "DiagnosticReport": {
        "final": "done", "amended": "done", "corrected": "done", "appended": "done",
        "preliminary": "done", "partial": "done", "registered": "open",
    },
}
# CarePlan.activity.detail.status -> state: physiotherapy under way counts as care given.
_ACTIVITY_STATES: Mapping[str, str] = {
    "completed": "done", "in-progress": "done", "stopped": "done",
    "scheduled": "open", "not-started": "open", "on-hold": "open",
}
# CarePlan.status -> state; revoked, entered-in-error and unknown plans are no evidence.
_PLAN_STATES: Mapping[str, str] = {"completed": "done", "active": "done", "draft": "open", "on-hold": "open"}


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
        return [c for concept in fhirjson.items(resource.get("procedureCode")) for c in fhirjson.codings(concept)]
    return fhirjson.codings(resource.get("code"))


def _imaged(study: dict, defs: FindingDefs, terminology: Terminology) -> frozenset[str]:
    """The studies an ImagingStudy's modality and series body sites name (`imaging_studies`)."""
    series = fhirjson.items(study.get("series"))
    modalities = terminology.concepts_in([c for m in fhirjson.items(study.get("modality")) for c in fhirjson.coding(m)]
                                         + [m for s in series for m in fhirjson.coding(s.get("modality"))])
    sites = terminology.concepts_in([c for s in series for c in fhirjson.coding(s.get("bodySite"))])
    return frozenset(k.study for k in defs.imaging_studies if k.modality & modalities and k.site & sites)


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
            state = states.get(fhirjson.text(resource.get("status")) or "")
            if state is None:
                continue
            kinds = terminology.concepts_in(_codings(resource)) & defs.study_kinds
            if not kinds and rtype == "ImagingStudy":
                kinds = _imaged(resource, defs, terminology)
            if not kinds:
                continue
            when = _study_when(resource)
            reference = f"{rtype}/{resource.get('id')}"
            conclusions = frozenset().union(*(terminology.concepts_in(fhirjson.codings(c))
                                              for c in fhirjson.items(resource.get("conclusionCode"))))
            for kind in sorted(kinds):
                studies.append(Study(kind, state, when.day if when else None, reference, conclusions))
    return tuple(studies) + _plan_activities(record, defs, terminology) + _in_place(record, defs, terminology)


_DEVICE_GONE = frozenset({"inactive", "entered-in-error"})
_ALLERGY_GONE = frozenset({"inactive", "resolved", "refuted", "entered-in-error"})


def _status_codes(resource: dict, *elements: str) -> set[str]:
    return {fhirjson.text(c.get("code")) or "" for e in elements for c in fhirjson.codings(resource.get(e))}


def _in_place(record: PatientRecord, defs: FindingDefs, terminology: Terminology) -> tuple[Study, ...]:
    """Implants (Device.type) and allergies (AllergyIntolerance.code) of a study kind, unless
    recorded as gone (inactive, resolved, refuted, entered in error)."""
    found = []
    for device in record.of_type("Device"):
        if fhirjson.text(device.get("status")) in _DEVICE_GONE:
            continue
        for kind in sorted(terminology.concepts_in(fhirjson.codings(device.get("type"))) & defs.study_kinds):
            found.append(Study(kind, "done", None, f"Device/{device.get('id')}"))
    for allergy in record.of_type("AllergyIntolerance"):
        if _status_codes(allergy, "clinicalStatus", "verificationStatus") & _ALLERGY_GONE:
            continue
        when = dates.parse(allergy.get("recordedDate")) or dates.parse(allergy.get("onsetDateTime"))
        for kind in sorted(terminology.concepts_in(fhirjson.codings(allergy.get("code"))) & defs.study_kinds):
            found.append(Study(kind, "done", when.day if when else None, f"AllergyIntolerance/{allergy.get('id')}"))
    return tuple(found)


def _plan_activities(record: PatientRecord, defs: FindingDefs, terminology: Terminology) -> tuple[Study, ...]:
    """A CarePlan whose category is a study kind (Synthea: "Physical therapy procedure"), and each
    activity.detail coded as one; dated by the activity's schedule, else the plan's start."""
    found = []
    for plan in record.of_type("CarePlan"):
        plan_state = _PLAN_STATES.get(fhirjson.text(plan.get("status")) or "")
        if plan_state is None:
            continue
        plan_start = dates.parse_period_start(plan.get("period"))
        reference = f"CarePlan/{plan.get('id')}"
        categories = [c for concept in fhirjson.items(plan.get("category")) for c in fhirjson.codings(concept)]
        for kind in sorted(terminology.concepts_in(categories) & defs.study_kinds):
            found.append(Study(kind, plan_state, plan_start.day if plan_start else None, reference))
        for activity in fhirjson.items(plan.get("activity")):
            detail = fhirjson.mapping(activity.get("detail"))
            state = _ACTIVITY_STATES.get(fhirjson.text(detail.get("status")) or "")
            kinds = terminology.concepts_in(fhirjson.codings(detail.get("code"))) & defs.study_kinds
            if state is None or not kinds:
                continue
            when = dates.parse_period_start(detail.get("scheduledPeriod")) or plan_start
            found += [Study(kind, state, when.day if when else None, reference) for kind in sorted(kinds)]
    return tuple(found)
