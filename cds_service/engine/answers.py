"""Answers read through the answer value sets and the closed list of text answers (H3, §5.2, §6.14).

An answer slot (an Observation's or a component's value[x], an interpretation) is read only
through cards/findings.yaml `observations`: `answer_positive`, `answer_absent`, `answer_unknown`
(codings, wherever they sit in the coding list) and `answer_text` (the exact words). "No" is
never read as "yes": what is in no list is unreadable, and a positive beside a negative too.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

from ..core import fhirjson
from ..library.finding_defs import FindingDefs
from ..library.terminology import Terminology
from .unreadable import ANSWER_NOT_RECOGNISED, ANSWERS_CONTRADICT, VALUE_NOT_READ, shown

POSITIVE, ABSENT, UNKNOWN = "positive", "absent", "unknown"
# value[x] types that carry a graded value (an MRC grade, a score): presence, H3
_GRADED = frozenset({"valueQuantity", "valueInteger"})


@dataclass(frozen=True)
class Answer:
    """positive, absent or unknown; or unreadable (reading None) with where, why and what was there."""

    reading: str | None
    element: str = ""
    reason: str = ""
    detail: str = ""


class Answers:
    def __init__(self, defs: FindingDefs, terms: Terminology):
        self.terms = terms
        self.sets = ((defs.answer_positive, POSITIVE), (defs.answer_absent, ABSENT), (defs.answer_unknown, UNKNOWN))
        self.words = defs.answer_text
        self.markers = defs.progression_markers

    def _coding(self, coding: dict, markers: bool) -> str | None:
        found = self.terms.concepts_for(coding.get("system"), coding["code"])
        for valuesets, reading in self.sets:
            if found & valuesets:
                return reading
        if markers and self.terms.canonical(coding.get("system"), coding["code"]) in self.markers:
            return POSITIVE  # "worsened" as the value of a deficit: present, and progressive
        return None

    def _text(self, value: Any) -> str | None:
        return self.words.get(value.strip().casefold()) if isinstance(value, str) else None

    def concept(self, concept: Any, element: str, markers: bool = True) -> Answer:
        """A CodeableConcept in an answer slot: its codings and its text, which must agree."""
        if not isinstance(concept, dict):
            return Answer(None, element, VALUE_NOT_READ, f"{shown(concept)} is not a CodeableConcept")
        readings = {r for c in fhirjson.codings(concept) if (r := self._coding(c, markers))}
        text = self._text(concept.get("text"))
        return one(readings | ({text} if text else set()), element, shown(concept))

    def value(self, part: dict, prefix: str = "", answers_only: bool = False) -> Answer | None:
        """The part's value[x] as an answer; None when it has none (or, with `answers_only`, when
        the value is a measurement or date rather than an answer)."""
        keys = [k for k in part if k.startswith("value")]
        if not keys:
            return None
        if len(keys) > 1:
            return Answer(None, prefix + keys[0], VALUE_NOT_READ, f"several values ({', '.join(sorted(keys))})")
        key = keys[0]
        value = part[key]
        if key == "valueBoolean":
            if isinstance(value, bool):
                return Answer(POSITIVE if value else ABSENT, prefix + key)
            return Answer(None, prefix + key, VALUE_NOT_READ, f"{shown(value)} is not true or false")
        if key == "valueCodeableConcept":
            return self.concept(value, prefix + key)
        if key == "valueString":
            reading = self._text(value)
            if reading:
                return Answer(reading, prefix + key)
            return Answer(None, prefix + key, ANSWER_NOT_RECOGNISED, f"{shown(value)} is not in the closed list of text answers")
        if answers_only:
            return None
        if key in _GRADED:
            return Answer(POSITIVE, prefix + key)
        return Answer(None, prefix + key, VALUE_NOT_READ, f"{key} is not read as an answer")

    def interpretations(self, part: dict) -> set[str]:
        """Readings of the interpretation codings that are answers (POS, NEG, IND ...); flags such
        as H, L or W are not answers and are passed over."""
        return {r for concept in fhirjson.items(part.get("interpretation")) for c in fhirjson.codings(concept)
                if (r := self._coding(c, markers=False))}

    def polarity(self, part: dict, prefix: str = "", no_value: str = POSITIVE) -> Answer:
        """A part coded with the finding: its value and interpretation together; `no_value` when
        neither answers (an Observation coded with the finding and no value is presence, H3)."""
        value = self.value(part, prefix)
        if value is not None and value.reading is None:
            return value
        readings = self.interpretations(part) | ({value.reading} if value and value.reading else set())
        return one(readings, prefix + "value[x] and interpretation", "", default=no_value)

    def symptom(self, obs: dict, components: Iterable[tuple[int, dict]]) -> Answer:
        """A generic symptom Observation (the finding is its value): answered by its interpretation
        and its components' values; positive when nothing answers."""
        readings = self.interpretations(obs)
        for i, comp in components:
            if "dataAbsentReason" in comp:
                readings.add(UNKNOWN)
                continue
            answer = self.value(comp, f"component[{i}].", answers_only=True)
            if answer is not None and answer.reading is None:
                return answer
            if answer is not None and answer.reading:
                readings.add(answer.reading)
        return one(readings, "interpretation and component", "", default=POSITIVE)


def one(readings: set[str], element: str, what: str, default: str | None = None) -> Answer:
    """The reading of several answers in one resource: No beats Unknown, Yes beats Unknown, and Yes
    beside No is unreadable; none at all is `default` (None: unreadable)."""
    if POSITIVE in readings and ABSENT in readings:
        return Answer(None, element, ANSWERS_CONTRADICT, f"a positive and a negative answer{': ' + what if what else ''}")
    for reading in (ABSENT, POSITIVE, UNKNOWN):
        if reading in readings:
            return Answer(reading, element)
    if default is not None:
        return Answer(default, element)
    return Answer(None, element, ANSWER_NOT_RECOGNISED, f"{what} is not an answer the service reads")
