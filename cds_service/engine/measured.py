"""Measured findings: vital signs and labs judged raised from their values (§6.2 fever, CRP, ESR, WBC),
or low (eGFR below its limit: `raised` then means "beyond the limit", the finding's sense).

A temperature Observation is not fever; 38.6 Cel within the look-back is. Each `measurements` entry of
cards/findings.yaml (library/measures.py) becomes a Finding, so rules ask `present: measured-fever`
and cards list the readings under "Triggered by" with their values and dates. Every reading of the
window is kept, not only the latest: a fever three days ago still counts after a normal reading
today, and a rising CRP needs the one before.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime

from ..core import dates, fhirjson
from ..data.record import PatientRecord
from ..library.finding_defs import FindingDefs
from ..library.measures import MeasureDef
from ..library.terminology import Terminology
from .answers import Answers
from .coded import coded, look_up
from .evidence import FAR_PAST, Evidence
from .labs import _unit, reference_bound
from .statuses import OBSERVATION_COUNTS, observation_status
from .unreadable import UNIT_NOT_READ, VALUE_NOT_READ, Unreadable


@dataclass(frozen=True)
class Reading:
    measure: MeasureDef
    value: float  # in the canonical unit
    raised: bool
    when: date
    instant: datetime  # orders readings of the same day
    evidence: Evidence


def _raised(part: dict, measure: MeasureDef, value: float, unit: str | None, defs: FindingDefs,
            terms: Terminology) -> bool:
    """Below `below` (eGFR); at or above `at_least` (fever); else the lab's own range, else its flag,
    else the fallback."""
    if measure.below is not None:
        return value < measure.below
    if measure.at_least is not None:
        return value >= measure.at_least
    if measure.use_range:
        high = reference_bound(part, "high", measure.to_canonical, unit)
        if high is not None:
            return value > high
        flags = [c for concept in fhirjson.items(part.get("interpretation")) for c in fhirjson.codings(concept)]
        if flags:
            return bool(terms.concepts_in(flags) & defs.interpretation_high)
    return measure.above is not None and value > measure.above


def _readings(obs: dict, concepts: frozenset[str], defs: FindingDefs, terms: Terminology, today: date,
              notes: list[str], unreadable: list[Unreadable]) -> list[Reading]:
    found: list[Reading] = []
    when = dates.effective(obs)
    reference = f"Observation/{obs.get('id')}"
    if when is None:
        return found
    for part in (obs, *fhirjson.items(obs.get("component"))):
        codings = fhirjson.codings(part.get("code"))
        ids = concepts if part is obs else look_up(terms, part.get("code"))[1]
        measures = {m.name: m for vs in ids for m in defs.measure_by_concept.get(vs, ())}
        counted = [m for m in measures.values() if (today - when.day).days <= m.within_days]
        if not counted:
            continue
        quantity = fhirjson.mapping(part.get("valueQuantity"))
        raw = fhirjson.number(quantity.get("value"))
        about = tuple(m.name for m in counted)  # one reading, said once, whichever findings it is for
        if raw is None:
            # a temperature or CRP that is there but not a number in a Quantity (a string, a
            # word) is neither raised nor normal: said, never passed over (§6.14)
            # (a boolean, coded or closed-list text answer is the answer reader's: "fever: no"
            # is an answer, not a temperature)
            answer = Answers(defs, terms).value(part)
            if answer is not None and answer.reading is None:
                unreadable.append(Unreadable("Observation", str(obs.get("id")), answer.element, VALUE_NOT_READ,
                                             f"{counted[0].label}: {answer.detail}", about, when.day))
            continue
        unit = _unit(quantity)
        if counted[0].to_canonical(raw, unit) is None:
            notes.append(f"{reference}: unit '{unit}' for {', '.join(about)} cannot be converted to {counted[0].unit}; ignored")
            unreadable.append(Unreadable("Observation", str(obs.get("id")), "valueQuantity.unit", UNIT_NOT_READ,
                                         f"{counted[0].label}: {raw:g} {unit!r}", about, when.day))
            continue
        for measure in counted:
            value = measure.to_canonical(raw, unit)
            if value is None:
                continue
            coding = next(c for c in codings if terms.concepts_for(c.get("system"), c["code"]) & measure.codes)
            display = terms.display(coding.get("system"), coding["code"]) or fhirjson.text(coding.get("display")) or measure.label
            shown = f"{raw:g} {unit or measure.unit}"
            raised = _raised(part, measure, value, unit, defs, terms)
            evidence = Evidence(reference, display, when.day, raised, f"{coding.get('system')}|{coding['code']}", shown)
            found.append(Reading(measure, value, raised, when.day, when.instant or FAR_PAST, evidence))
    return found


def read_measured(record: PatientRecord, defs: FindingDefs, terms: Terminology, today: date,
                  notes: list[str], unreadable: list[Unreadable]) -> dict[str, list[Reading]]:
    """Per measured finding, its readings within the look-back window, oldest first; a reading whose
    value or unit cannot be read goes to `unreadable`."""
    by_measure: dict[str, list[Reading]] = defaultdict(list)
    if not defs.measures:
        return by_measure
    for obs, _, concepts in coded(record, "Observation", terms):
        if not concepts & defs.measured_concepts and "component" not in obs:
            continue
        if observation_status(obs.get("status")).code not in OBSERVATION_COUNTS:
            continue
        for reading in _readings(obs, concepts, defs, terms, today, notes, unreadable):
            by_measure[reading.measure.name].append(reading)
    for readings in by_measure.values():
        readings.sort(key=lambda r: (r.when, r.instant))
    return by_measure
