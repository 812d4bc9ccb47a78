"""Findings: what the record says about each finding in cards/findings.yaml, after CLINICAL.md H1-H6.

One pass over Conditions and Observations. A resource is selected by its code first (one
Terminology lookup per coding) and only then read further, so cost grows with record size and
resources the rules cannot use cost one dict lookup each. Studies and medications: studies.py;
lab values: labs.py; the YAML: finding_defs.py.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Iterable, Mapping

from . import dates
from .finding_defs import Criterion, FindingDef, FindingDefs, load_finding_defs
from .labs import LabResult, read_lab
from .record import PatientRecord
from .studies import Study, read_medications, read_studies
from .terminology import Terminology

__all__ = ["Evidence", "Finding", "Findings", "FindingDefs", "LabResult", "Study", "find", "load_finding_defs"]

# FHIR R4 status semantics (CLINICAL.md H1, H2): engineering rules, not clinical knowledge.
_CONDITION_COUNTS = frozenset({"active", "recurrence", "relapse"})
_CONDITION_VOID = frozenset({"refuted", "entered-in-error"})
_CONDITION_SUSPECTED = frozenset({"unconfirmed", "provisional", "differential"})
_OBSERVATION_COUNTS = frozenset({"final", "amended", "corrected", "preliminary"})
_FAR_PAST = datetime.min.replace(tzinfo=timezone.utc)


@dataclass(frozen=True)
class Evidence:
    reference: str
    display: str
    when: date | None
    positive: bool


@dataclass(frozen=True)
class Finding:
    name: str
    present: bool
    negated: bool
    previously_positive: bool
    onset: date | None
    latest: date | None
    sides: frozenset[str]
    sites: frozenset[str]
    progressive: bool
    suspected: bool
    evidence: tuple[Evidence, ...]

    @property
    def bilateral(self) -> bool:
        return {"left", "right"} <= self.sides


@dataclass(frozen=True)
class Findings:
    now: datetime
    today: date
    age_years: int | None
    by_name: Mapping[str, Finding]
    labs: Mapping[str, LabResult]
    studies: tuple[Study, ...]
    medications: frozenset[str]
    data_quality: tuple[str, ...]
    names: frozenset[str] = frozenset()  # every defined finding; asking for another is a bug

    def get(self, name: str) -> Finding | None:
        if self.names and name not in self.names:
            raise KeyError(f"no finding named '{name}' in cards/findings.yaml")
        return self.by_name.get(name)

    def present(self, name: str) -> bool:
        found = self.get(name)
        return bool(found and found.present)

    def negated(self, name: str) -> bool:
        found = self.get(name)
        return bool(found and found.negated)


@dataclass(frozen=True)
class _Item:
    """One resource's say on one finding, with what aggregation needs."""

    evidence: Evidence
    instant: datetime | None
    group: tuple  # H4 compares only evidence about the same thing (same concept, site, side)
    suspected: bool
    observation: bool
    graded: float | None
    marker: bool
    sites: frozenset[str]
    sides: frozenset[str]

    @property
    def order(self) -> tuple[datetime, bool]:
        # Undated evidence is the oldest; on a tie the positive counts as later (safety first).
        return (self.instant or _FAR_PAST, self.evidence.positive)


def _code(concept: object) -> str | None:
    if isinstance(concept, Mapping):
        for coding in concept.get("coding") or ():
            if isinstance(coding, Mapping) and coding.get("code"):
                return coding["code"]
    return None


def _codings(concept: object) -> list:
    return (concept.get("coding") or []) if isinstance(concept, Mapping) else []


def _number(value: object) -> float | None:
    return None if isinstance(value, bool) or not isinstance(value, (int, float)) else float(value)


def _graded(obs: Mapping) -> float | None:
    """A graded value (e.g. an MRC grade): valueQuantity/valueInteger, else the first component's."""
    for part in (obs, *(c for c in obs.get("component") or () if isinstance(c, Mapping))):
        value = _number((part.get("valueQuantity") or {}).get("value")) if isinstance(part.get("valueQuantity"), Mapping) else None
        value = value if value is not None else _number(part.get("valueInteger"))
        if value is not None:
            return value
    return None


class _Reader:
    def __init__(self, defs: FindingDefs, terminology: Terminology, birth: dates.When | None):
        self.defs = defs
        self.terms = terminology
        self.birth = birth
        self.notes: list[str] = []
        self.items: dict[str, list[_Item]] = defaultdict(list)
        self.labs: dict[str, tuple[datetime, LabResult]] = {}

    # ---- coded elements -------------------------------------------------------------------
    def _extension_concepts(self, extensions: Iterable) -> frozenset[str]:
        found: frozenset[str] = frozenset()
        for ext in extensions or ():
            if not isinstance(ext, Mapping):
                continue
            found |= self.terms.concepts_in(_codings(ext.get("valueCodeableConcept")))
            coding = ext.get("valueCoding")
            if isinstance(coding, Mapping):
                found |= self.terms.concepts_for(coding.get("system"), coding.get("code"))
            if ext.get("extension"):
                found |= self._extension_concepts(ext["extension"])
        return found

    def _body_site_concepts(self, body_site: object) -> frozenset[str]:
        found: frozenset[str] = frozenset()
        for concept in body_site if isinstance(body_site, list) else [body_site]:
            if isinstance(concept, Mapping):
                found |= self.terms.concepts_in(concept.get("coding") or ())
                found |= self._extension_concepts(concept.get("extension"))
        return found

    def _sides(self, concepts: frozenset[str]) -> frozenset[str]:
        d = self.defs
        if concepts & d.side_both or (concepts & d.side_left and concepts & d.side_right):
            return frozenset({"left", "right"})
        if concepts & d.side_left:
            return frozenset({"left"})
        return frozenset({"right"}) if concepts & d.side_right else frozenset()

    def _marker(self, resource: Mapping, *concepts: object) -> bool:
        markers = self.defs.progression_markers
        if not markers:
            return False
        codings = [c for cc in concepts for c in _codings(cc)]
        for ext in resource.get("extension") or ():
            if isinstance(ext, Mapping):
                codings += _codings(ext.get("valueCodeableConcept"))
                codings += [ext["valueCoding"]] if isinstance(ext.get("valueCoding"), Mapping) else []
        return any((c.get("system"), c.get("code")) in markers for c in codings if isinstance(c, Mapping))

    # ---- evidence -------------------------------------------------------------------------
    def _add(self, resource: Mapping, codings: list, concepts: frozenset[str], *, positive: bool,
             when: dates.When | None, suspected: bool, graded: float | None, marker: bool) -> None:
        """Record the resource as evidence for every finding whose criterion it meets."""
        observation = resource.get("resourceType") == "Observation"
        around = concepts | self._body_site_concepts(resource.get("bodySite"))
        sites = around & self.defs.sites
        sides = self._sides(around)
        reference = f"{resource.get('resourceType')}/{resource.get('id')}"
        done: set[str] = set()
        for concept in concepts:
            for fdef, crit in self.defs.by_concept.get(concept, ()):
                if fdef.name in done or (crit.site and not crit.site & sites) or crit.not_site & sites:
                    continue
                done.add(fdef.name)
                group = (frozenset(concepts & crit.codes), sites, sides) if observation else (reference,)
                evidence = Evidence(reference, self._display(codings, crit), when.day if when else None, positive)
                self.items[fdef.name].append(_Item(evidence, when.instant if when else None, group, suspected,
                                                   observation, graded, marker, sites, sides))

    def _display(self, codings: list, crit: Criterion) -> str:
        for coding in codings:
            if isinstance(coding, Mapping) and self.terms.concepts_for(coding.get("system"), coding.get("code")) & crit.codes:
                return (self.terms.display(coding.get("system"), coding.get("code"))
                        or coding.get("display") or coding.get("code") or "")
        return ""

    def _relevant(self, concepts: frozenset[str]) -> bool:
        return any(c in self.defs.by_concept for c in concepts)

    def condition(self, cond: Mapping) -> None:
        """H1: clinical and verification status; H5: onset."""
        codings = _codings(cond.get("code"))
        concepts = self.terms.concepts_in(codings)
        if not self._relevant(concepts):
            return
        verification = _code(cond.get("verificationStatus"))
        if verification in _CONDITION_VOID:
            return
        clinical = _code(cond.get("clinicalStatus"))
        if clinical is None:
            self.notes.append(f"Condition/{cond.get('id')} has no clinicalStatus; treated as active")
        elif clinical not in _CONDITION_COUNTS:
            return
        if ("onsetAge" in cond or "onsetRange" in cond) and self.birth is None:
            self.notes.append(f"Condition/{cond.get('id')} gives onset as an age but the patient has no birthDate")
        when = (
            dates.parse(cond.get("onsetDateTime"))
            or dates.parse_period_start(cond.get("onsetPeriod"))
            or dates.age_to_date(cond.get("onsetAge"), self.birth)
            or dates.age_to_date((cond.get("onsetRange") or {}).get("low"), self.birth)
            or dates.parse(cond.get("recordedDate"))
        )
        self._add(cond, codings, concepts, positive=True, when=when,
                  suspected=verification in _CONDITION_SUSPECTED, graded=None,
                  marker=self._marker(cond, cond.get("severity")))

    def observation(self, obs: Mapping) -> None:
        """H2 status, H3 polarity; labs go to labs.py."""
        if obs.get("status") not in _OBSERVATION_COUNTS:
            return
        codings = _codings(obs.get("code"))
        concepts = self.terms.concepts_in(codings)
        when = dates.effective(obs)
        if self.defs.lab_by_concept:
            self._labs(obs, concepts, codings, when)
        if "dataAbsentReason" in obs:
            return
        if concepts & self.defs.symptom_observation:
            codings = _codings(obs.get("valueCodeableConcept"))
            concepts = self.terms.concepts_in(codings)
            if not self._relevant(concepts):
                return
            positive: bool | None = not self._symptom_negated(obs)
        else:
            if not self._relevant(concepts):
                return
            positive = self._polarity(obs)
        if positive is None:
            return
        interpretation = obs.get("interpretation") or []
        self._add(obs, codings, concepts, positive=positive, when=when, suspected=False,
                  graded=_graded(obs), marker=self._marker(obs, *interpretation))

    def _absent(self, concepts: Iterable) -> bool:
        found: frozenset[str] = frozenset()
        for concept in concepts:
            found |= self.terms.concepts_in(_codings(concept))
        return bool(found & self.defs.answer_absent)

    def _polarity(self, obs: Mapping) -> bool | None:
        """H3 for an Observation coded with the finding itself; None = not readable, ignore."""
        if "valueBoolean" in obs:
            return obs["valueBoolean"] is True
        value = obs.get("valueCodeableConcept")
        if isinstance(value, Mapping):
            return not self._absent([value])
        if self._absent(obs.get("interpretation") or ()):
            return False
        if "valueQuantity" in obs or "valueInteger" in obs:
            return True
        if any(key.startswith("value") for key in obs):
            self.notes.append(f"Observation/{obs.get('id')}: value type not interpreted; ignored")
            return None
        return True

    def _symptom_negated(self, obs: Mapping) -> bool:
        """A generic symptom Observation (value = the finding) negated by interpretation or component."""
        if self._absent(obs.get("interpretation") or ()):
            return True
        for comp in obs.get("component") or ():
            if isinstance(comp, Mapping) and (comp.get("valueBoolean") is False or self._absent([comp.get("valueCodeableConcept")])):
                return True
        return False

    def _labs(self, obs: Mapping, concepts: frozenset[str], codings: list, when: dates.When | None) -> None:
        reference = f"Observation/{obs.get('id')}"
        parts = [(obs, concepts, codings)]
        for comp in obs.get("component") or ():
            if isinstance(comp, Mapping):
                comp_codings = _codings(comp.get("code"))
                parts.append((comp, self.terms.concepts_in(comp_codings), comp_codings))
        for part, part_concepts, part_codings in parts:
            for concept in part_concepts:
                lab = self.defs.lab_by_concept.get(concept)
                if lab is None:
                    continue
                display = next((self.terms.display(c.get("system"), c.get("code")) or c.get("display") or c.get("code")
                                for c in part_codings if isinstance(c, Mapping)), lab.name)
                result = read_lab(part, lab, self.defs, self.terms, reference, display, when, self.notes)
                instant = when.instant if when else _FAR_PAST
                if result and (lab.name not in self.labs or self.labs[lab.name][0] <= instant):
                    self.labs[lab.name] = (instant, result)
                break


def _summarise(fdef: FindingDef, items: list[_Item], repeated_days: int) -> Finding:
    """H4 latest wins within each group; H5 onset; H6 sides and sites; progression."""
    groups: dict[tuple, list[_Item]] = defaultdict(list)
    for item in items:
        groups[item.group].append(item)
    current: list[_Item] = []
    negated_any = previously_positive = False
    for group in groups.values():
        group.sort(key=lambda i: i.order)
        if group[-1].evidence.positive:
            last_negative = max((n for n, i in enumerate(group) if not i.evidence.positive), default=-1)
            current.extend(group[last_negative + 1:])
        else:
            negated_any = True
            previously_positive = previously_positive or any(i.evidence.positive for i in group)
    present = bool(current)
    days = [i.evidence.when for i in current if i.evidence.when]
    return Finding(
        name=fdef.name,
        present=present,
        negated=not present and negated_any,
        previously_positive=previously_positive,
        onset=min(days, default=None),
        latest=max(days, default=None),
        sides=frozenset().union(*(i.sides for i in current)),
        sites=frozenset().union(*(i.sites for i in current)),
        progressive=present and fdef.progression and _progressive(fdef, current, repeated_days),
        suspected=present and all(i.suspected for i in current),
        evidence=tuple(i.evidence for i in sorted(items, key=lambda i: i.order)),
    )


def _progressive(fdef: FindingDef, current: list[_Item], repeated_days: int) -> bool:
    """Explicit marker; else graded values (if configured) worsening; else repeated positives."""
    if any(i.marker for i in current):
        return True
    observed = sorted((i for i in current if i.observation and i.instant), key=lambda i: i.order)
    graded = [i.graded for i in observed if i.graded is not None]
    if fdef.graded_worse_when and len(graded) >= 2:
        last, earlier = graded[-1], graded[:-1]
        return last < max(earlier) if fdef.graded_worse_when == "lower" else last > min(earlier)
    return len(observed) >= 2 and (observed[-1].instant - observed[0].instant).days >= repeated_days


def find(record: PatientRecord, defs: FindingDefs, terminology: Terminology, now: datetime) -> Findings:
    """Everything the rules need from the record, at time `now`."""
    today = now.date()
    birth = dates.parse((record.patient or {}).get("birthDate"))
    reader = _Reader(defs, terminology, birth)
    for cond in record.of_type("Condition"):
        reader.condition(cond)
    for obs in record.of_type("Observation"):
        reader.observation(obs)
    by_name = {
        name: _summarise(defs.findings[name], items, defs.repeated_positive_min_days)
        for name, items in reader.items.items()
    }
    return Findings(
        now=now,
        today=today,
        age_years=dates.years_between(birth.day, today) if birth else None,
        by_name=by_name,
        labs={name: result for name, (_, result) in reader.labs.items()},
        studies=read_studies(record, defs, terminology),
        medications=read_medications(record, defs, terminology),
        data_quality=tuple(reader.notes),
        names=defs.names(),
    )
