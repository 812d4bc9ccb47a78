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
from .coded import coded

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


def _others(resource: dict, elements: tuple[str, ...], components: bool) -> Iterator[Any]:
    """The coded elements besides `code` (which engine/coded.py has looked up already)."""
    for element in elements:
        value = resource.get(element)
        if value is not None:
            yield from (fhirjson.items(value) if isinstance(value, list) else [value])
    if components and "component" in resource:
        for comp in fhirjson.items(resource["component"]):
            yield comp.get("code")
            yield comp.get("valueCodeableConcept")


def uncovered_codes(record: PatientRecord, terminology: Terminology) -> tuple[UncoveredCode, ...]:
    """Each distinct coding of the record's coded elements that no value set holds."""
    found: dict[tuple[str, str], str] = {}
    seen: set[tuple[object, str]] = set()  # codings as sent: a repeated lab code is canonicalised once

    def note(coding: dict) -> bool:
        """Keep an uncovered coding; True once the call's limit is reached."""
        sent = (coding.get("system"), coding["code"])
        if sent in seen:
            return False
        seen.add(sent)
        system, code = terminology.canonical(coding.get("system"), coding["code"])
        if system and (system, code) not in found:
            found[(system, code)] = (fhirjson.text(coding.get("display")) or "")[:256]
        return len(found) >= MAX_PER_CALL

    for rtype, resources in record.resources.items():
        elements = _CODED.get(rtype, ())
        looked_up = coded(record, rtype, terminology) if "code" in elements else [(r, [], frozenset()) for r in resources]
        others = tuple(e for e in elements if e != "code")
        components = rtype == "Observation"
        for resource, per_coding, _ in looked_up:
            for coding, ids in per_coding:
                if not ids and note(coding):
                    return tuple((s, c, d) for (s, c), d in found.items())
            # most resources carry none of the other coded elements: asked by name, no generator
            if not any(e in resource for e in others) and not (components and "component" in resource):
                continue
            for concept in _others(resource, others, components):
                for coding in fhirjson.codings(concept):
                    if not terminology.concepts_for(coding.get("system"), coding["code"]) and note(coding):
                        return tuple((s, c, d) for (s, c), d in found.items())
    return tuple((s, c, d) for (s, c), d in found.items())
