"""Only the context patient's data is used: resources of another patient, or of the wrong type
for their prefetch key, are dropped before anything reads them.

A FHIR server or an EHR that answers with someone else's record (a proxy mix-up, a broken search
parameter) must never produce advice for this patient. A resource of another patient is dropped
with a data-quality note; a key whose every resource is wrong says the source cannot be trusted
for this patient at all, and the caller refuses the call (412).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Mapping

from ..core import fhirjson
from ..core.ids import referenced_patient

log = logging.getLogger("nerve_cds.ownership")

YOURS, OTHER, UNKNOWN = "yours", "other", "unknown"


def expected_type(template: str) -> str:
    """The resourceType a prefetch template asks for: `Condition?patient=..` or `Patient/{{..}}`."""
    return template.split("?", 1)[0].split("/", 1)[0]


def included_types(template: str) -> frozenset[str]:
    """Types a template's `_include`s bring along (`MedicationRequest:medication` -> Medication,
    or the explicit target of `X:param:Target`): a client's prefetch may carry them without
    marking them search.mode = include."""
    found = set()
    for param in template.split("?", 1)[-1].split("&"):
        name, _, value = param.partition("=")
        if name == "_include" and value.count(":") >= 1:
            parts = value.split(":")
            found.add(parts[2] if len(parts) > 2 else parts[1][:1].upper() + parts[1][1:])
    return frozenset(found)


def owner(resource: Mapping[str, Any], patient_id: str) -> str:
    """YOURS, OTHER, or UNKNOWN (no subject or patient reference to judge by)."""
    if resource.get("resourceType") == "Patient":
        return YOURS if resource.get("id") == patient_id else OTHER
    for element in ("subject", "patient"):
        if element in resource:
            found = referenced_patient(fhirjson.mapping(resource.get(element)).get("reference"))
            if found is not None:
                return YOURS if found == patient_id else OTHER
    return UNKNOWN


@dataclass
class Screened:
    data: dict[str, dict | None]
    notes: list[str] = field(default_factory=list)  # one per dropped resource; kept in-process, counted in logs
    wrong_keys: dict[str, str] = field(default_factory=dict)  # key -> why nothing in it could be used


def screen(data: Mapping[str, dict | None], templates: Mapping[str, str], patient_id: str) -> Screened:
    """`data` with every foreign or mistyped resource left out, per prefetch key."""
    result = Screened(data={})
    for key, value in data.items():
        if not isinstance(value, dict) or key not in templates:
            result.data[key] = value
            continue
        wanted = expected_type(templates[key])
        kept, dropped = _screen_value(value, wanted, included_types(templates[key]), patient_id, key, result.notes)
        if dropped and kept is None:
            result.wrong_keys[key] = f"every resource is of another patient or not a {wanted}"
        result.data[key] = kept
    if result.notes:
        log.warning("resources of another patient or of the wrong type dropped",
                    extra={"fields": {"dropped": len(result.notes), "wrongKeys": sorted(result.wrong_keys)}})
    return result


def _screen_value(value: dict, wanted: str, extra: frozenset[str], patient_id: str, key: str,
                  notes: list[str]) -> tuple[dict | None, int]:
    """(what is left, how many resources were dropped); None when nothing usable is left."""
    if value.get("resourceType") != "Bundle":
        return (value, 0) if _usable(value, wanted, patient_id, key, notes, included=False) else (None, 1)
    entries, dropped, usable = [], 0, 0
    for entry in fhirjson.items(value.get("entry")):
        resource = entry.get("resource")
        search = fhirjson.mapping(entry.get("search"))
        if not isinstance(resource, dict) or search.get("mode") == "outcome" or resource.get("resourceType") == "OperationOutcome":
            entries.append(entry)
            continue
        if resource.get("resourceType") == "Bundle":
            inner, inner_dropped = _screen_value(resource, wanted, extra, patient_id, key, notes)
            dropped += inner_dropped
            if inner is not None:
                entries.append({**entry, "resource": inner})
                usable += 1
            continue
        included = search.get("mode") == "include" or fhirjson.text(resource.get("resourceType")) in extra
        if _usable(resource, wanted, patient_id, key, notes, included=included):
            entries.append(entry)
            usable += 1
        else:
            dropped += 1
    if dropped and not usable:
        return None, dropped
    return {**value, "entry": entries}, dropped


def _usable(resource: dict, wanted: str, patient_id: str, key: str, notes: list[str], included: bool) -> bool:
    rtype = resource.get("resourceType")
    name = f"{rtype}/{resource.get('id')}"
    if rtype != wanted and not included:
        notes.append(f"{key}: {name} is not a {wanted}; dropped")
        return False
    whose = owner(resource, patient_id)
    if whose == OTHER:
        notes.append(f"{key}: {name} belongs to another patient; dropped")
        return False
    return True  # UNKNOWN too: it came from a search for this patient and names no other
