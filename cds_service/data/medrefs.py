"""Medication resources that orders and statements point to but the gathered data lacks.

US Core lets a MedicationRequest name its drug by medicationReference. The prefetch templates
`_include` the Medication, and contained ones travel inside the order; a client that prefetched
without `_include`, or a server that ignores it, leaves references open. The record's walk
(data/record.py) collects them, and they are read in one more batch, so the drug class is known
whichever way the EHR chose to send it.
"""
from __future__ import annotations

from typing import Any, Mapping

from ..core import fhirjson
from ..core.ids import is_fhir_id


def medication_reference(resource: Mapping[str, Any]) -> str | None:
    """The medicationReference.reference of an order or statement, if it has one."""
    return fhirjson.text(fhirjson.mapping(resource.get("medicationReference")).get("reference"))


def open_reference(order: Mapping[str, Any]) -> str | None:
    """The `Medication/<id>` on the same server that an order names instead of coding its drug."""
    ref = medication_reference(order) or ""
    local = ref.startswith("Medication/") and is_fhir_id(ref[len("Medication/"):])
    return ref if local and "medicationCodeableConcept" not in order else None


def as_bundle(medications: list[dict[str, Any]]) -> dict[str, Any]:
    """The fetched Medications as one searchset-like Bundle, pooled with the rest of the record."""
    return {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": m} for m in medications]}
