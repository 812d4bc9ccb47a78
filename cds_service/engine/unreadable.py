"""What the record holds but the service could not read: never positive, never negative, always said.

docs/clinical-safety.md (§6.14 of the clinical brief): an answer, value or status that cannot be
read is unreadable. It is neither evidence for a finding nor against it; it is listed here with
the resource, the element and the reason, shown in explain mode, counted by reason in the request
log (never with its content), and a rule can ask about it (`unreadable` in the rule language).
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date
from typing import Any, Iterable

from ..core import fhirjson

# Reason codes (counted in the request log, so no patient data in them) and what each means.
ANSWER_NOT_RECOGNISED = "answer-not-recognised"
ANSWERS_CONTRADICT = "answers-contradict"
VALUE_NOT_READ = "value-type-not-read"
STATUS_NOT_CODED = "status-not-coded"
STATUS_NOT_RECOGNISED = "status-not-recognised"
STATUSES_CONTRADICT = "statuses-contradict"
INTENT_NOT_RECOGNISED = "intent-not-recognised"
UNIT_NOT_READ = "unit-not-read"
REASONS = {
    ANSWER_NOT_RECOGNISED: "an answer in no answer value set and not in the closed list of text answers",
    ANSWERS_CONTRADICT: "a positive and a negative answer in the same resource",
    VALUE_NOT_READ: "a value of a type the service does not read there (e.g. a number sent as a string)",
    STATUS_NOT_CODED: "a status sent as a string, or with no coding in its HL7 code system",
    STATUS_NOT_RECOGNISED: "a status code that is not one of its HL7 code system's codes",
    STATUSES_CONTRADICT: "two different codes of the same HL7 status system",
    INTENT_NOT_RECOGNISED: "a MedicationRequest intent that is not an R4 intent",
    UNIT_NOT_READ: "a measurement in a unit the card library cannot convert (cards/findings.yaml measurements)",
}
_SHOWN_CHARS = 60


@dataclass(frozen=True)
class Unreadable:
    resource_type: str
    id: str
    element: str  # e.g. "valueCodeableConcept", "component[1].valueString", "clinicalStatus"
    reason: str  # one of REASONS
    detail: str  # what was there, in words (explain mode and the card that names it)
    about: tuple[str, ...]  # the findings (or labs, drug classes) it would have been evidence for
    when: date | None = None

    @property
    def reference(self) -> str:
        return f"{self.resource_type}/{self.id}"


def shown(value: Any) -> str:
    """A value from the record as a short quotation for `detail` (never for the log)."""
    if isinstance(value, dict):
        codes = [f"{c.get('code')} ({c.get('system')})" for c in fhirjson.items(value.get("coding"))]
        text = value.get("text")
        words = ", ".join(codes + ([f"text {text!r}"] if isinstance(text, str) else []))
        value = words or "an empty CodeableConcept"
    else:
        value = repr(value)
    return value if len(value) <= _SHOWN_CHARS else value[:_SHOWN_CHARS - 1] + "…"


def counts(items: Iterable[Unreadable]) -> dict[str, int]:
    """How many unreadable items per reason: all the request log says about them."""
    return dict(sorted(Counter(item.reason for item in items).items()))
