"""FHIR identifiers as patterns: the id datatype, and a relative reference such as Practitioner/abc."""
from __future__ import annotations

import re

FHIR_ID = r"^[A-Za-z0-9\-.]{1,64}$"
RELATIVE_REFERENCE = r"^[A-Za-z]+/[A-Za-z0-9\-.]{1,64}$"
FHIR_ID_RE = re.compile(FHIR_ID)


def is_fhir_id(value: object) -> bool:
    return isinstance(value, str) and FHIR_ID_RE.match(value) is not None
