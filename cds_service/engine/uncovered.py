"""Codes seen in the record that no value set holds, for the informatics team.

An EHR that codes a finding with a local or newer code gets no advice on it, silently. Every
coding in the coded elements the engine reads (what a resource is about, an answer, a body site,
a drug) is looked up once more here; the ones in no value set are kept as (system, code,
display), canonical, at most MAX_PER_CALL a call. Codes and displays only: never which patient
or resource they came from. Explain mode lists them; the service counts them in its store
(`nerve-cds cards uncovered`).
"""
from __future__ import annotations

from typing import Any, Iterator

from ..core import fhirjson
from ..data.record import PatientRecord
from ..library.terminology import Terminology

MAX_PER_CALL = 100
# resourceType -> the elements that say what the resource is about (CodeableConcept or a list of them)
_CODED: dict[str, tuple[str, ...]] = {
    "Condition": ("code", "bodySite"),
    "Observation": ("code", "valueCodeableConcept", "bodySite"),
    "ServiceRequest": ("code", "reasonCode"),
    "Procedure": ("code", "bodySite"),
    "DiagnosticReport": ("code", "conclusionCode"),
    "ImagingStudy": ("procedureCode",),
    "Medication": ("code",),
    "MedicationRequest": ("medicationCodeableConcept",),
    "MedicationStatement": ("medicationCodeableConcept",),
}
UncoveredCode = tuple[str, str, str]  # (system, code, display), system and code canonical


def _concepts(resource: dict) -> Iterator[Any]:
    for element in _CODED.get(str(resource.get("resourceType")), ()):
        value = resource.get(element)
        yield from (fhirjson.items(value) if isinstance(value, list) else [value])
    if resource.get("resourceType") == "Observation":
        for comp in fhirjson.items(resource.get("component")):
            yield comp.get("code")
            yield comp.get("valueCodeableConcept")


def uncovered_codes(record: PatientRecord, terminology: Terminology) -> tuple[UncoveredCode, ...]:
    """Each distinct coding of the record's coded elements that no value set holds."""
    found: dict[tuple[str, str], str] = {}
    for resources in record.resources.values():
        for resource in resources:
            for concept in _concepts(resource):
                for coding in fhirjson.codings(concept):
                    if terminology.concepts_for(coding.get("system"), coding["code"]):
                        continue
                    system, code = terminology.canonical(coding.get("system"), coding["code"])
                    if system and (system, code) not in found:
                        found[(system, code)] = (fhirjson.text(coding.get("display")) or "")[:256]
                        if len(found) >= MAX_PER_CALL:
                            return tuple((s, c, d) for (s, c), d in found.items())
    return tuple((s, c, d) for (s, c), d in found.items())
