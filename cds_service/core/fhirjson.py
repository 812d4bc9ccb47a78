"""Light, type-safe accessors for FHIR JSON read on the hot path (no model validation).

Incoming resources are not validated (docs/architecture.md), so an element may hold any JSON type; these
accessors return a usable value or an empty one, so one malformed resource cannot fail a request.
"""
from __future__ import annotations

import math
from typing import Any


def mapping(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def items(value: Any) -> list:
    """A JSON array's dict members (FHIR repeating elements)."""
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def number(value: Any) -> float | None:
    """A finite float; None for non-numbers and for numbers beyond float range (1e400, 10**400)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        result = float(value)
    except OverflowError:
        return None
    return result if math.isfinite(result) else None


def bad_number(value: Any) -> bool:
    """A JSON number this service cannot use (beyond float range): worth a data-quality note."""
    return not isinstance(value, bool) and isinstance(value, (int, float)) and number(value) is None


def codings(concept: Any) -> list[dict]:
    """A CodeableConcept's codings that have a string code (and a string system, if any)."""
    raw = concept.get("coding") if isinstance(concept, dict) else None
    if not isinstance(raw, list):
        return []
    return [
        c for c in raw
        if isinstance(c, dict) and isinstance(c.get("code"), str) and isinstance(c.get("system", ""), str)
    ]


def coding(value: Any) -> list[dict]:
    """A single Coding (e.g. an extension's valueCoding) as a list of valid codings."""
    return codings({"coding": [value]})

