"""Medication resources that orders and statements point to but the gathered data lacks.

US Core lets a MedicationRequest name its drug by medicationReference. The prefetch templates
`_include` the Medication, and contained ones travel inside the order; a client that prefetched
without `_include`, or a server that ignores it, leaves references open. Those are read here, so
the drug class is known whichever way the EHR chose to send it.
"""
from __future__ import annotations

from typing import Any, Mapping

from ..core import fhirjson
from ..core.ids import is_fhir_id
from .record import build_record

_ORDERS = ("MedicationRequest", "MedicationStatement")


def medication_reference(resource: Mapping[str, Any]) -> str | None:
    """The medicationReference.reference of an order or statement, if it has one."""
    return fhirjson.text(fhirjson.mapping(resource.get("medicationReference")).get("reference"))


def _local(ref: str) -> bool:
    """`Medication/<id>` on the same server."""
    return ref.startswith("Medication/") and is_fhir_id(ref[len("Medication/"):])


def unresolved(data: Mapping[str, Any]) -> dict[str, set[str]]:
    """Per prefetch key: the `Medication/<id>` references of its orders not found in any key."""
    record = build_record(data)
    known = {f"Medication/{m.get('id')}" for m in record.of_type("Medication")}
    found: dict[str, set[str]] = {}
    for key, value in data.items():
        if not isinstance(value, dict):
            continue
        orders = build_record({key: value})
        for rtype in _ORDERS:
            for order in orders.of_type(rtype):
                ref = medication_reference(order) or ""
                if _local(ref) and ref not in known and "medicationCodeableConcept" not in order:
                    found.setdefault(key, set()).add(ref)
    return found


def as_bundle(medications: list[dict[str, Any]]) -> dict[str, Any]:
    """The fetched Medications as one searchset-like Bundle, pooled with the rest of the record."""
    return {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": m} for m in medications]}
