"""Status elements read as FHIR R4 defines them (data hygiene H1, H2): engineering rules, not clinical knowledge.

A Condition's clinicalStatus and verificationStatus are CodeableConcepts: the status is the coding
in the HL7 code system, wherever it sits in the coding list (an EHR may list its own coding
first). A status that cannot be read (a string as in STU3, no HL7 coding, a code the system does
not define, two different HL7 codes) is unreadable: the Condition is neither counted nor ignored,
and the reason is reported (engine/unreadable.py).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..core import fhirjson
from ..library.terminology import Terminology
from .unreadable import STATUS_NOT_CODED, STATUS_NOT_RECOGNISED, STATUSES_CONTRADICT, shown

CLINICAL_SYSTEM = "http://terminology.hl7.org/CodeSystem/condition-clinical"
VERIFICATION_SYSTEM = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
CONDITION_COUNTS = frozenset({"active", "recurrence", "relapse"})
CONDITION_PAST = frozenset({"inactive", "remission", "resolved"})  # counts only for `history` findings
CLINICAL_CODES = CONDITION_COUNTS | CONDITION_PAST
CONDITION_VOID = frozenset({"refuted", "entered-in-error"})
CONDITION_SUSPECTED = frozenset({"unconfirmed", "provisional", "differential"})
VERIFICATION_CODES = CONDITION_VOID | CONDITION_SUSPECTED | {"confirmed"}
OBSERVATION_COUNTS = frozenset({"final", "amended", "corrected", "preliminary"})
OBSERVATION_CODES = OBSERVATION_COUNTS | {"registered", "cancelled", "entered-in-error", "unknown"}


@dataclass(frozen=True)
class Status:
    """The status code; None when absent, or, with a `reason`, when it cannot be read."""

    code: str | None
    reason: str = ""
    detail: str = ""


def coded_status(concept: Any, system: str, codes: frozenset[str], terms: Terminology) -> Status:
    """The code of `concept`'s coding in `system` (its aliases too, cards/code-systems.yaml)."""
    if concept is None:
        return Status(None)
    if not isinstance(concept, dict):
        return Status(None, STATUS_NOT_CODED, f"{shown(concept)} is not a CodeableConcept")
    found = {terms.canonical(c.get("system"), c["code"]) for c in fhirjson.codings(concept)}
    ours = sorted({code for sys, code in found if sys == system})
    if not ours:
        if not concept:
            return Status(None)
        return Status(None, STATUS_NOT_CODED, f"{shown(concept)} has no coding in {system}")
    if len(ours) > 1:
        return Status(None, STATUSES_CONTRADICT, f"{', '.join(ours)} in {system}")
    if ours[0] not in codes:
        return Status(None, STATUS_NOT_RECOGNISED, f"{ours[0]!r} is not a code of {system}")
    return Status(ours[0])


def observation_status(value: Any) -> Status:
    """Observation.status, a code: one of R4's, else unreadable (a missing status too: R4 requires it)."""
    if isinstance(value, str) and value in OBSERVATION_CODES:
        return Status(value)
    if value is None:
        return Status(None, STATUS_NOT_CODED, "no status")
    return Status(None, STATUS_NOT_RECOGNISED, f"{shown(value)} is not an R4 Observation status")
