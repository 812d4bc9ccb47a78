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
