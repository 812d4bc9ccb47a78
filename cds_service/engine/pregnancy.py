"""Whether the patient is pregnant today (CLINICAL §6.7, §6.14), read once before any rule.

Evidence: a pregnancy code (a finding), a pregnancy-status Observation, an estimated delivery date
or a gestational age. With a due date the pregnancy counts until `postpartum_end_days` after it;
without one, a code or status counts only if recorded within `code_recent_days` (old pregnancy
codes linger on problem lists). A later "not pregnant" status or a delivery ends it. An undated
code counts: when unsure, the safe reading (no NSAID, no contrast) is the pregnant one.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Mapping

from ..core import dates, fhirjson
from ..data.record import PatientRecord
from ..library.context import PregnancyDefs
from ..library.terminology import Terminology
from .coded import coded
from .findings import Finding, Findings

_COUNTS = frozenset({"final", "amended", "corrected", "preliminary"})  # H2, as for every Observation
_DAYS_PER = {"wk": 7.0, "d": 1.0}  # UCUM units of a gestational age


@dataclass(frozen=True)
class Pregnancy:
    pregnant: bool
    facts: tuple[Finding, ...] = ()  # the pregnancy code, for "Triggered by"
    due: date | None = None


NOT_PREGNANT = Pregnancy(False)


def read_pregnancy(record: PatientRecord, findings: Findings, defs: PregnancyDefs, terminology: Terminology,
                   settings: Mapping[str, float]) -> Pregnancy:
    today = findings.today
    positives: list[date | None] = []
    negatives: list[date] = []
    dues: list[tuple[date, date]] = []  # (recorded, due date)
    for obs, _, kinds in coded(record, "Observation", terminology):
        if not kinds & defs.observation_concepts or fhirjson.text(obs.get("status")) not in _COUNTS:
            continue
        when = dates.effective(obs)
        recorded = when.day if when else None
        if kinds & defs.status_observation:
            answer = terminology.concepts_in(fhirjson.codings(obs.get("valueCodeableConcept")))
            if answer & defs.status_not_pregnant and recorded:
                negatives.append(recorded)
            elif answer & defs.status_pregnant:
                positives.append(recorded)
        elif kinds & defs.due_date_observation:
            stated = dates.parse(obs.get("valueDateTime"))
            if stated:
                dues.append((recorded or today, stated.day))
        elif kinds & defs.gestational_age_observation and recorded:
            due_day = _due_from_gestation(obs.get("valueQuantity"), recorded, defs.term_days)
            if due_day:
                dues.append((recorded, due_day))
    code = findings.get(defs.finding)
    if code is not None and code.present:
        positives.append(code.documented or code.latest)
    due = max(dues)[1] if dues else None
    if not positives and due is None:
        return NOT_PREGNANT
    dated = [d for d in positives if d is not None]
    latest = max(dated) if dated else None
    recorded_last = max([*dated, *(r for r, _ in dues)], default=None)
    if negatives and recorded_last is not None and max(negatives) >= recorded_last:
        return NOT_PREGNANT
    ended = findings.get(defs.ended_by)
    if ended is not None and ended.present and ended.latest:  # a delivery since this pregnancy began
        began = (due - ended.latest).days <= defs.term_days if due else latest is not None and ended.latest >= latest
        if began:
            return NOT_PREGNANT
    if due is not None:  # date differences only: a due date in year 9999 must not overflow
        pregnant = (today - due).days <= settings[defs.postpartum_end_days]
    else:
        undated = len(dated) < len(positives)
        pregnant = undated or (latest is not None and (today - latest).days <= settings[defs.code_recent_days])
    facts = (code,) if pregnant and code is not None and code.present else ()
    return Pregnancy(pregnant, facts, due) if pregnant else NOT_PREGNANT


def _due_from_gestation(quantity: Any, recorded: date, term_days: int) -> date | None:
    """The due date a gestational age measured on `recorded` gives: term minus the gestation."""
    quantity = fhirjson.mapping(quantity)
    value = fhirjson.number(quantity.get("value"))
    per = _DAYS_PER.get(fhirjson.text(quantity.get("code")) or fhirjson.text(quantity.get("unit")) or "")
    if value is None or per is None or not 0 <= value * per <= term_days + 30:
        return None
    try:
        return recorded + timedelta(days=term_days - value * per)
    except OverflowError:  # recorded at the end of the calendar
        return None
