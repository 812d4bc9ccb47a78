"""Each resource's `code` looked up once per call.

Evidence, measured values, pregnancy and the uncovered-code report all select resources by what
they are coded as, and most of a large record (vital signs, routine labs) is coded as nothing the
rules read; one lookup per coding, shared, lets each reader pass those over for the price of a set
intersection.
"""
from __future__ import annotations

from typing import Any

from ..core import fhirjson
from ..data.record import PatientRecord
from ..library.terminology import Terminology

# (the resource, each coding of `code` with its value sets, the union of those value sets)
Coded = tuple[dict, list[tuple[dict, frozenset[str]]], frozenset[str]]


def look_up(terms: Terminology, concept: Any) -> tuple[list[tuple[dict, frozenset[str]]], frozenset[str]]:
    """A CodeableConcept's codings, each with its value sets, and their union."""
    per_coding = []
    union: frozenset[str] = frozenset()
    for coding in fhirjson.codings(concept):
        ids = terms.concepts_for(coding.get("system"), coding["code"])
        per_coding.append((coding, ids))
        if ids:
            union |= ids
    return per_coding, union


def coded(record: PatientRecord, resource_type: str, terms: Terminology) -> list[Coded]:
    """The record's resources of a type with their `code` looked up, computed once per record and
    terminology (a shadow library's terminology gets its own)."""
    key = ("coded", resource_type, id(terms))
    found = record.derived.get(key)
    if found is None:
        found = record.derived[key] = [(r, *look_up(terms, r.get("code"))) for r in record.of_type(resource_type)]
    return found
