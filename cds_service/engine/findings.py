"""Findings: what the record says about each finding in cards/findings.yaml, after data hygiene H1-H6 (docs/clinical-safety.md §4).

evidence.py reads each Condition and Observation into evidence items (H1-H3, H5, H6); this
module decides per finding: latest wins (H4), onset, sides, sites, suspected, progressive.
Studies: studies.py; medications: medications.py; lab values: labs.py; the YAML: finding_defs.py.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Mapping

from ..core import dates
from ..data.record import PatientRecord
from ..library.finding_defs import FindingDef, FindingDefs, load_finding_defs
from ..library.terminology import Terminology
from .coded import coded
from .evidence import Decision, Evidence, Item, Reader
from .labs import LabResult, corrected
from .measured import Reading, read_measured
from .medications import MedicationUse, read_medication_uses
from .studies import Study, read_studies
from .unreadable import Unreadable

__all__ = ["Evidence", "Finding", "Findings", "FindingDefs", "LabResult", "Reading", "Study", "Unreadable", "find",
           "load_finding_defs"]


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
    bilateral_since: date | None = None  # when the later side began (None: not bilateral or undated)
    documented: date | None = None  # last positive documentation (onset, recordedDate, effective)
    grade: float | None = None  # latest graded value (e.g. MRC grade) among the current evidence
    # per worsening: its sides and since when (the last better grade, or the marker's date)
    worsened: tuple[tuple[frozenset[str], date | None], ...] = ()

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
    data_quality: tuple[str, ...]
    names: frozenset[str] = frozenset()  # every defined finding; asking for another is a bug
    medication_uses: tuple[MedicationUse, ...] = ()  # current and past use, for windowed rules
    decisions: tuple[Decision, ...] = ()  # explain mode: evidence set aside, and why
    unreadable: tuple[Unreadable, ...] = ()  # what the record holds but could not be read (§6.14)
    readings: Mapping[str, tuple[Reading, ...]] = field(default_factory=dict)  # per measured finding, oldest first

    @property
    def medications(self) -> frozenset[str]:
        """Drug classes in current use."""
        return frozenset(u.kind for u in self.medication_uses if u.active)

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


def _summarise(fdef: FindingDef, items: list[Item], decisions: list[Decision] | None = None) -> Finding:
    """H4 latest wins within each group; H5 onset; H6 sides and sites; progression.

    In explain mode `decisions` gets each positive that a later negative superseded."""
    groups: dict[tuple, list[Item]] = defaultdict(list)
    for item in items:
        groups[item.group].append(item)
    current: list[Item] = []
    negated_any = previously_positive = False
    for group in groups.values():
        group.sort(key=lambda i: i.order)
        if group[-1].evidence.positive:
            last_negative = max((n for n, i in enumerate(group) if not i.evidence.positive), default=-1)
            current.extend(group[last_negative + 1:])
            stale = group[:last_negative + 1]
        else:
            negated_any = True
            previously_positive = previously_positive or any(i.evidence.positive for i in group)
            stale = group
        if decisions is not None:
            latest_negative = [i.evidence.reference for i in stale if not i.evidence.positive][-1:]
            decisions += [(i.evidence.reference, fdef.name, f"superseded by the later negative {latest_negative[0]}")
                          for i in stale if i.evidence.positive]
    # evidence that counts only on both sides (e.g. buttock numbness as saddle) is dropped when one-sided
    one_sided = [i for i in current if i.both_sides]
    if one_sided and not {"left", "right"} <= frozenset().union(*(i.sides for i in one_sided)):
        current = [i for i in current if not i.both_sides]
    present = bool(current)
    days = [i.evidence.when for i in current if i.evidence.when]
    documented = [i.documented for i in current if i.documented]
    graded = [i for i in sorted(current, key=lambda i: i.order) if i.graded is not None]
    return Finding(
        name=fdef.name,
        present=present,
        negated=not present and negated_any,
        previously_positive=previously_positive,
        onset=min(days, default=None),
        latest=max(days, default=None),
        sides=frozenset().union(*(i.sides for i in current)),
        sites=frozenset().union(*(i.sites for i in current)),
        progressive=present and fdef.progression and _progressive(fdef, current),
        worsened=_worsened(fdef, current) if present and fdef.progression else (),
        suspected=present and all(i.suspected for i in current),
        evidence=tuple(i.evidence for i in sorted(items, key=lambda i: i.order)),
        bilateral_since=_bilateral_since(current),
        documented=max(documented, default=None),
        grade=graded[-1].graded if graded else None,
    )


def _bilateral_since(current: list[Item]) -> date | None:
    """H6 over time: both sides are involved from the first dated evidence of the later side;
    None when a side has no dated evidence."""
    starts = []
    for side in ("left", "right"):
        days = [i.evidence.when for i in current if side in i.sides and i.evidence.when]
        if not days:
            return None
        starts.append(min(days))
    return max(starts)



def _progressive(fdef: FindingDef, current: list[Item]) -> bool:
    """An explicit marker, or a graded value worse than an earlier one for the same muscle/site.

    docs/clinical-safety.md: the same deficit recorded twice unchanged is persistent, not progressive.
    """
    return bool(_worsened(fdef, current))


def _worsened(fdef: FindingDef, current: list[Item]) -> tuple[tuple[frozenset[str], date | None], ...]:
    """Where and since when the finding got worse: per marker, its sides and date; per graded group
    (same concept, site, side) whose latest grade is worse than an earlier one, its sides and the
    date of the last better grade, so a rule can ask how fast and in how many limbs (§6.3)."""
    found = [(i.sides, i.evidence.when) for i in current if i.marker]
    if not fdef.graded_worse_when:
        return tuple(found)
    groups: dict[tuple, list[Item]] = defaultdict(list)
    for item in sorted(current, key=lambda i: i.order):
        if item.observation and item.instant and item.graded is not None:
            groups[item.group].append(item)
    lower = fdef.graded_worse_when == "lower"
    for items in groups.values():
        last = items[-1]
        better = [i for i in items[:-1] if (i.graded > last.graded if lower else i.graded < last.graded)]  # type: ignore[operator]
        if better:
            found.append((last.sides, better[-1].evidence.when))
    return tuple(found)


def _measured(name: str, readings: list[Reading]) -> Finding:
    """A measured finding (engine/measured.py): present with a raised reading in its window;
    progressive when the latest reading is raised and higher than the one before (rising CRP)."""
    raised = [r for r in readings if r.raised]
    days = [r.when for r in raised]
    rising = len(readings) >= 2 and readings[-1].raised and readings[-1].value > readings[-2].value
    return Finding(
        name=name, present=bool(raised), negated=not raised, previously_positive=False,
        onset=min(days, default=None), latest=max(days, default=None), sides=frozenset(), sites=frozenset(),
        progressive=rising, suspected=False, evidence=tuple(r.evidence for r in raised or readings),
        documented=max(days, default=None),
    )


def find(record: PatientRecord, defs: FindingDefs, terminology: Terminology, now: datetime,
         explain: bool = False) -> Findings:
    """Everything the rules need from the record, at time `now`; with `explain`, also the
    evidence set aside and why (Findings.decisions)."""
    today = now.date()
    birth = dates.parse((record.patient or {}).get("birthDate"))
    decisions: list[Decision] | None = [] if explain else None
    reader = Reader(defs, terminology, birth, decisions)
    for cond, per_coding, concepts in coded(record, "Condition", terminology):
        reader.condition(cond, per_coding, concepts)
    for obs, per_coding, concepts in coded(record, "Observation", terminology):
        reader.observation(obs, per_coding, concepts)
    by_name = {
        name: _summarise(defs.findings[name], items, decisions)
        for name, items in reader.items.items()
    }
    measured = read_measured(record, defs, terminology, today, reader.notes, reader.unreadable)
    by_name |= {name: _measured(name, readings) for name, readings in measured.items()}
    return Findings(
        now=now,
        today=today,
        age_years=dates.years_between(birth.day, today) if birth else None,
        by_name=by_name,
        labs=corrected(reader.latest_labs(), defs),
        studies=read_studies(record, defs, terminology),
        data_quality=tuple(reader.notes),
        names=defs.names(),
        medication_uses=read_medication_uses(record, defs, terminology, reader.unreadable),
        decisions=tuple(decisions or ()),
        unreadable=tuple(reader.unreadable),
        readings={name: tuple(readings) for name, readings in measured.items()},
    )
