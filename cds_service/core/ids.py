"""FHIR identifiers and references: the id datatype, a relative reference such as Practitioner/abc,
and which patient a reference points to."""
from __future__ import annotations

import re
from typing import Any

# Also pydantic field patterns (its regex engine's `$` is the end of the string). Here they are
# applied with re.fullmatch: Python's `$` also matches before a trailing newline ("p1\n").
FHIR_ID = r"^[A-Za-z0-9\-.]{1,64}$"
RELATIVE_REFERENCE = r"^[A-Za-z]+/[A-Za-z0-9\-.]{1,64}$"
_FHIR_ID = re.compile(FHIR_ID)


def is_fhir_id(value: Any) -> bool:
    """A FHIR id: what may follow `ResourceType/` in a reference we send."""
    return isinstance(value, str) and _FHIR_ID.fullmatch(value) is not None


def reference_key(reference: Any) -> str | None:
    """`Medication/x`, `https://server/fhir/Medication/x` or `Medication/x/_history/2` -> "Medication/x":
    a literal reference, relative or absolute (FHIR R4 References), as the type and id it names;
    None for a contained (`#x`), logical (`urn:`) or unreadable reference."""
    if not isinstance(reference, str) or reference.startswith(("#", "urn:")):
        return None
    parts = reference.split("?", 1)[0].split("#", 1)[0].rstrip("/").split("/")
    if "_history" in parts:
        parts = parts[:parts.index("_history")]
    if len(parts) >= 2 and re.fullmatch(r"[A-Z][A-Za-z]+", parts[-2]) and is_fhir_id(parts[-1]):
        return f"{parts[-2]}/{parts[-1]}"
    return None


def referenced_patient(reference: Any) -> str | None:
    """`Patient/x`, `https://server/fhir/Patient/x` or `Patient/x/_history/2` -> "x"; "" for a
    reference to anything else; None when there is no readable reference."""
    if not isinstance(reference, str) or not reference:
        return None
    parts = reference.split("?", 1)[0].split("#", 1)[0].rstrip("/").split("/")
    if "_history" in parts:
        parts = parts[:parts.index("_history")]
    if len(parts) >= 2 and parts[-2] == "Patient" and parts[-1]:
        return parts[-1]
    return "" if len(parts) >= 2 else None
