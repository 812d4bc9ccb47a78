"""FHIR identifiers and references: the id datatype, a relative reference such as Practitioner/abc,
and which patient a reference points to."""
from __future__ import annotations

import re
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Literal:
    """A literal reference read strictly: the server base it names (None when relative), type and id."""

    base: str | None
    type: str
    id: str


# FHIR R4 References: `Type/id`, optionally `/_history/vid`, relative or after a server's base URL.
_RELATIVE = re.compile(r"([A-Z][A-Za-z]+)/([A-Za-z0-9\-.]{1,64})(?:/_history/[A-Za-z0-9\-.]{1,64})?")
_ABSOLUTE = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*://[^\s?#]+)/([A-Z][A-Za-z]+)/([A-Za-z0-9\-.]{1,64})"
                       r"(?:/_history/[A-Za-z0-9\-.]{1,64})?")


def literal(reference: Any) -> Literal | None:
    """`Patient/x`, `Patient/x/_history/2` or `https://server/fhir/Patient/x` as its parts; None for
    anything else (`Group/g/Patient/x`, `../Patient/x`, a trailing newline, a query): a reference
    that merely ends in `Patient/x` names nothing this service can check."""
    if not isinstance(reference, str):
        return None
    if found := _RELATIVE.fullmatch(reference):
        return Literal(None, found.group(1), found.group(2))
    if found := _ABSOLUTE.fullmatch(reference):
        return Literal(found.group(1), found.group(2), found.group(3))
    return None
