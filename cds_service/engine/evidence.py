"""Reading Conditions and Observations into evidence items: data hygiene H1, H2, H3, H5, H6 (docs/clinical-safety.md §4).

Each resource is selected by its code first (one Terminology lookup per coding) and read further
only when some finding in cards/findings.yaml can use it; resources the rules cannot use cost a
dict lookup per coding. Aggregation (H4, progression) happens in findings.py; lab values in labs.py.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timezone
from functools import partial
from typing import Any, Callable, Iterable

from ..core import dates, fhirjson
from ..core.dates import When
from ..library.finding_defs import Criterion, FindingDef, FindingDefs, LabDef
from ..library.terminology import Terminology
from .answers import ABSENT, POSITIVE, UNKNOWN, Answer, Answers
from .coded import look_up
from .labs import LabResult, read_lab
from .statuses import (
    CLINICAL_CODES,
    CLINICAL_SYSTEM,
    CONDITION_PAST,
    CONDITION_SUSPECTED,
    CONDITION_VOID,
    OBSERVATION_COUNTS,
    VERIFICATION_CODES,
    VERIFICATION_SYSTEM,
    coded_status,
    observation_status,
)
from .unreadable import VALUE_NOT_READ, Unreadable, shown

FAR_PAST = datetime.min.replace(tzinfo=timezone.utc)
# (resource reference, finding name or "", what was decided): kept only in explain mode
Decision = tuple[str, str, str]


@dataclass(frozen=True)
class Evidence:
    reference: str
    display: str
    when: date | None
    positive: bool
    code: str = ""  # "system|code" of the coding that matched the finding's criterion
    qualifiers: str = ""  # side and site from bodySite, and the grade: "left, lower limb, grade 2"


@dataclass(frozen=True)
class Item:
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
    both_sides: bool = False  # counts only with evidence of both sides (Criterion.both_sides)
    documented: date | None = None  # latest date the record documents it (onset, recordedDate, effective)

    @property
    def order(self) -> tuple[datetime, bool]:
        # Undated evidence is the oldest; on a tie the positive counts as later (safety first).
        return (self.instant or FAR_PAST, self.evidence.positive)


def _graded(obs: dict, notes: list[str]) -> float | None:
    """A graded value (e.g. an MRC grade): valueQuantity/valueInteger, else the first component's."""
    for part in (obs, *fhirjson.items(obs.get("component"))):
        raw = [fhirjson.mapping(part.get("valueQuantity")).get("value"), part.get("valueInteger")]
        if any(fhirjson.bad_number(v) for v in raw):
            notes.append(f"Observation/{obs.get('id')}: a value is beyond the range of numbers; ignored")
        value = fhirjson.number(raw[0])
        if value is None:
            value = fhirjson.number(raw[1])
        if value is not None:
            return value
    return None


class Reader:
    """Collects evidence items per finding and the latest result per lab, one resource at a time."""

    def __init__(self, defs: FindingDefs, terminology: Terminology, birth: dates.When | None,
                 decisions: list[Decision] | None = None):
        self.defs = defs
        self.decisions = decisions  # explain mode: why a resource about a finding was not used
        self.terms = terminology
        self.birth = birth
        self.notes: list[str] = []
        self.unreadable: list[Unreadable] = []  # what could not be read, and for which findings
        self.answers = Answers(defs, terminology)
        self.items: dict[str, list[Item]] = defaultdict(list)
        # per lab, every result seen: (instant, order seen, read it); only the latest are read (latest_labs)
        self._lab_candidates: dict[str, list[tuple[datetime, int, Callable[[], LabResult | None]]]] = defaultdict(list)
        self.lab_ids = frozenset(defs.lab_by_concept)

    # ---- coded elements -------------------------------------------------------------------
    def _coded(self, concept: Any) -> tuple[list[tuple[dict, frozenset[str]]], frozenset[str]]:
        """Each coding with its value sets (one lookup per coding), and their union."""
        return look_up(self.terms, concept)

    def _concepts(self, concepts: Iterable[Any]) -> frozenset[str]:
        """Value sets of several CodeableConcepts (e.g. interpretation, bodySite list)."""
        found: frozenset[str] = frozenset()
        for concept in concepts:
            found |= self.terms.concepts_in(fhirjson.codings(concept))
        return found

    def _extension_codings(self, extensions: Any) -> list[dict]:
        """Codings carried by extensions (valueCodeableConcept / valueCoding), nested ones too."""
        found: list[dict] = []
        for ext in fhirjson.items(extensions):
            found += fhirjson.codings(ext.get("valueCodeableConcept")) + fhirjson.coding(ext.get("valueCoding"))
            found += self._extension_codings(ext.get("extension"))
        return found

    def _body_site_concepts(self, body_site: Any) -> frozenset[str]:
        """bodySite codings and their extensions (e.g. laterality); a list on Condition."""
        if body_site is None:
            return frozenset()
        sites = fhirjson.items(body_site) if isinstance(body_site, list) else [fhirjson.mapping(body_site)]
        found = self._concepts(sites)
        for site in sites:
            found |= self.terms.concepts_in(self._extension_codings(site.get("extension")))
        return found

    def _sides(self, concepts: frozenset[str]) -> frozenset[str]:
        d = self.defs
        if concepts & d.side_both or (concepts & d.side_left and concepts & d.side_right):
            return frozenset({"left", "right"})
        if concepts & d.side_left:
            return frozenset({"left"})
        return frozenset({"right"}) if concepts & d.side_right else frozenset()

    def _marker(self, resource: dict, concepts: list) -> bool:
        """An explicit progression marker in the given concepts or in the resource's extensions."""
        markers = self.defs.progression_markers
        if not markers or not (concepts or "extension" in resource):
            return False
        codings = [c for concept in concepts for c in fhirjson.codings(concept)]
        codings += self._extension_codings(resource.get("extension"))
        return any(self.terms.canonical(c.get("system"), c["code"]) in markers for c in codings)

    # ---- evidence -------------------------------------------------------------------------
    def _add(self, resource: dict, per_coding: list, concepts: frozenset[str], *, positive: bool,
             when: dates.When | None, suspected: bool, graded: float | None, marker: bool,
             recorded: date | None = None, past: str = "") -> None:
        """Record the resource as evidence for every finding whose criterion it meets; a past
        Condition (`past`: its status) only for findings that ask for history (e.g. cancer)."""
        observation = resource.get("resourceType") == "Observation"
        body_site = self._body_site_concepts(resource.get("bodySite"))
        around = concepts | body_site
        sites = around & self.defs.sites
        sides = self._sides(around)
        reference = f"{resource.get('resourceType')}/{resource.get('id')}"
        day = when.day if when else None
        documented = max((d for d in (day, recorded) if d), default=None)
        instant = when.instant if when else None
        for fdef, crit in self._matches(concepts, sites):
            if past and not fdef.history:
                if self.decisions is not None:
                    self.decisions.append((reference, fdef.name, f"ignored: clinicalStatus is {past}"))
                continue
            group = (concepts & crit.codes, sites, sides) if observation else (reference,)
            display, code = self._display(per_coding, crit)
            evidence = Evidence(reference, display, day, positive, code, self._qualifiers(body_site, graded, fdef))
            self.items[fdef.name].append(Item(evidence, instant, group, suspected, observation, graded,
                                              marker, sites, sides, crit.both_sides, documented))

    def _matches(self, concepts: frozenset[str], sites: frozenset[str]) -> Iterable[tuple[FindingDef, Criterion]]:
        """Each finding the concepts can evidence at these sites, with the first criterion it meets."""
        done: set[str] = set()
        for concept in concepts:
            for fdef, crit in self.defs.by_concept.get(concept, ()):
                if fdef.name in done or (crit.site and not crit.site & sites) or crit.not_site & sites:
                    continue
                done.add(fdef.name)
                yield fdef, crit

    def _unread(self, resource: dict, concepts: frozenset[str], element: str, reason: str, detail: str,
                when: When | None = None, about: Iterable[str] = ()) -> None:
        """Report what could not be read, with the findings (or labs) it would have been evidence for."""
        around = concepts | self._body_site_concepts(resource.get("bodySite"))
        names = [fdef.name for fdef, _ in self._matches(concepts, around & self.defs.sites)] + list(about)
        if not names:
            return
        rtype, rid = str(resource.get("resourceType")), str(resource.get("id"))
        self.unreadable.append(Unreadable(rtype, rid, element, reason, detail, tuple(dict.fromkeys(names)),
                                          when.day if when else None))
        self._decided(resource, f"could not be read: {element}: {detail}")

    def _qualifiers(self, body_site: frozenset[str], graded: float | None, fdef: FindingDef) -> str:
        """What a clinician needs beside the code's display to see why it counts: the side and site
        the bodySite gives (the code's own display already names its own), and a graded value for
        findings graded one way ("grade" where lower is worse, as MRC; "score" where higher is)."""
        sides = self._sides(body_site)
        parts = ["left and right" if len(sides) == 2 else next(iter(sides))] if sides else []
        parts += sorted(self.terms.valuesets[s].title.lower() for s in body_site & self.defs.sites)
        if graded is not None and fdef.graded_worse_when:
            parts.append(f"{'grade' if fdef.graded_worse_when == 'lower' else 'score'} {graded:g}")
        return ", ".join(parts)

    def _display(self, per_coding: list, crit: Criterion) -> tuple[str, str]:
        """Our value set's display of the matching coding (never the record's free text), and the
        coding itself as "system|code"."""
        for coding, ids in per_coding:
            if ids & crit.codes:
                system, code = coding.get("system"), coding["code"]
                return self.terms.display(system, code) or fhirjson.text(coding.get("display")) or code, f"{system}|{code}"
        return "", ""

    def _relevant(self, concepts: frozenset[str]) -> bool:
        return any(c in self.defs.by_concept for c in concepts)

    def _about_findings(self, obs: dict) -> bool:
        """Explain mode: whether an Observation set aside unread is coded as one of our findings."""
        concepts = self._coded(obs.get("code"))[1] | self._coded(obs.get("valueCodeableConcept"))[1]
        return self._relevant(concepts)

    def _decided(self, resource: dict, why: str) -> None:
        if self.decisions is not None:
            self.decisions.append((f"{resource.get('resourceType')}/{resource.get('id')}", "", why))

    def condition(self, cond: dict, per_coding: list, concepts: frozenset[str]) -> None:
        """H1: clinical and verification status, each from its HL7 coding; H5: onset. `per_coding`
        and `concepts`: its code, looked up (engine/coded.py)."""
        if not self._relevant(concepts):
            return
        verification = coded_status(cond.get("verificationStatus"), VERIFICATION_SYSTEM, VERIFICATION_CODES, self.terms)
        if verification.code in CONDITION_VOID:
            self._decided(cond, f"ignored: verificationStatus is {verification.code}")
            return
        clinical = coded_status(cond.get("clinicalStatus"), CLINICAL_SYSTEM, CLINICAL_CODES, self.terms)
        for element, status in (("clinicalStatus", clinical), ("verificationStatus", verification)):
            if status.reason:
                self._unread(cond, concepts, element, status.reason, status.detail, self._onset(cond))
                return
        code = clinical.code
        if code is None and any(key.startswith("abatement") for key in cond):
            code = "resolved"  # R4 con-4: an abated Condition is inactive, resolved or in remission
            self.notes.append(f"Condition/{cond.get('id')} has no clinicalStatus but an abatement; treated as resolved")
        elif code is None:
            self.notes.append(f"Condition/{cond.get('id')} has no clinicalStatus; treated as active")
        if ("onsetAge" in cond or "onsetRange" in cond) and self.birth is None:
            self.notes.append(f"Condition/{cond.get('id')} gives onset as an age but the patient has no birthDate")
        recorded = dates.parse(cond.get("recordedDate"))
        self._add(cond, per_coding, concepts, positive=True, when=self._onset(cond),
                  suspected=verification.code in CONDITION_SUSPECTED, graded=None,
                  marker=self._marker(cond, [cond.get("severity")]), recorded=recorded.day if recorded else None,
                  past=code if code in CONDITION_PAST else "")

    def _onset(self, cond: dict) -> When | None:
        return (
            dates.parse(cond.get("onsetDateTime"))
            or dates.parse_period_start(cond.get("onsetPeriod"))
            or dates.age_to_date(cond.get("onsetAge"), self.birth)
            or dates.age_to_date(fhirjson.mapping(cond.get("onsetRange")).get("low"), self.birth)
            or dates.parse(cond.get("recordedDate"))
        )

    def observation(self, obs: dict, per_coding: list, concepts: frozenset[str]) -> None:
        """H2 status; H3 polarity through the answer value sets; each component coded with a
        finding read as an Observation of its own; labs go to labs.py. Most of a record (vital
        signs, routine labs) is coded as nothing a finding or lab reads, and has no components:
        passed over at once, unless explain mode must say why it was set aside."""
        if not concepts & self.defs.read_concepts and "component" not in obs and self.decisions is None:
            return
        components = [(i, comp, *self._coded(comp.get("code"))) for i, comp in enumerate(fhirjson.items(obs.get("component")))]
        status = observation_status(obs.get("status"))
        if status.code not in OBSERVATION_COUNTS:
            if status.reason:
                self._unread_all(obs, concepts, components, "status", status.reason, status.detail)
            elif self.decisions is not None and self._about_findings(obs):
                self._decided(obs, f"ignored: status is {status.code}")
            return
        if concepts & self.lab_ids or components:
            self._labs(obs, concepts, per_coding)
        when = dates.effective(obs)
        for i, comp, comp_coding, comp_concepts in components:
            if self._relevant(comp_concepts):
                self._part(obs, comp, f"component[{i}].", comp_coding, comp_concepts, when)
        if "dataAbsentReason" in obs:
            if self.decisions is not None and self._about_findings(obs):
                self._decided(obs, "ignored: dataAbsentReason, no value")
            return
        if concepts & self.defs.symptom_observation:
            value = obs.get("valueCodeableConcept")
            per_coding, concepts = self._coded(value)
            if not self._relevant(concepts):
                return
            answers = [(i, comp) for i, comp, _, comp_concepts in components if not self._relevant(comp_concepts)]
            self._read(obs, per_coding, concepts, self.answers.symptom(obs, answers), when, graded=None)
        elif self._relevant(concepts):
            self._read(obs, per_coding, concepts, self.answers.polarity(obs), when, _graded(obs, self.notes))

    def _part(self, obs: dict, comp: dict, prefix: str, per_coding: list, concepts: frozenset[str],
              when: When | None) -> None:
        """A component coded with a finding (a red-flag screen sent as one Observation): its own
        value and interpretation; no value, or a dataAbsentReason, is no answer (an unanswered question)."""
        if "dataAbsentReason" in comp:
            return
        answer = self.answers.polarity(comp, prefix, no_value=UNKNOWN)
        self._read(obs, per_coding, concepts, answer, when, _graded(comp, self.notes), marker_part=comp)

    def _read(self, obs: dict, per_coding: list, concepts: frozenset[str], answer: Answer, when: When | None,
              graded: float | None, marker_part: dict | None = None) -> None:
        """One answer about the finding(s) coded in `concepts`: evidence, no evidence, or unreadable."""
        if answer.reading is None:
            self._unread(obs, concepts, answer.element, answer.reason, answer.detail, when)
            return
        if answer.reading not in (POSITIVE, ABSENT):
            self._decided(obs, f"no evidence either way: {answer.element} is unknown")
            return
        part = marker_part or obs
        course = fhirjson.items(part.get("interpretation")) + fhirjson.items([part.get("valueCodeableConcept")])
        self._add(obs, per_coding, concepts, positive=answer.reading == POSITIVE, when=when, suspected=False,
                  graded=graded, marker=self._marker(part, course))

    def _unread_all(self, obs: dict, concepts: frozenset[str], components: list, element: str, reason: str,
                    detail: str) -> None:
        """An Observation whose status cannot be read: reported for every finding or lab it is about."""
        found = concepts | frozenset().union(*(c[3] for c in components))
        if concepts & self.defs.symptom_observation:
            found |= self._coded(obs.get("valueCodeableConcept"))[1]
        labs = [self.defs.lab_by_concept[c].name for c in found & self.lab_ids]
        self._unread(obs, found, element, reason, detail, dates.effective(obs), labs)

    def _labs(self, obs: dict, concepts: frozenset[str], per_coding: list) -> None:
        """Lab values in the Observation itself or in its components (a panel)."""
        parts = [(obs, per_coding, concepts)]
        parts += [(comp, *self._coded(comp.get("code"))) for comp in fhirjson.items(obs.get("component"))]
        when = None
        for part, part_coding, part_concepts in parts:
            lab = next((self.defs.lab_by_concept[c] for c in part_concepts & self.lab_ids), None)
            if lab is None:
                continue
            when = when or dates.effective(obs)
            instant = when.instant if when else FAR_PAST
            candidates = self._lab_candidates[lab.name]
            candidates.append((instant, len(candidates), partial(self._read_lab, obs, part, part_coding, lab, when)))

    def _read_lab(self, obs: dict, part: dict, part_coding: list, lab: LabDef, when: When | None) -> LabResult | None:
        coding = part_coding[0][0] if part_coding else {}
        display = (self.terms.display(coding.get("system"), coding.get("code"))
                   or fhirjson.text(coding.get("display")) or lab.name)
        keys = [k for k in part if k.startswith("value")]
        number = fhirjson.mapping(part.get("valueQuantity")).get("value")
        if keys and keys != ["valueQuantity"] or keys and not (isinstance(number, (int, float)) and not isinstance(number, bool)):
            where = "" if part is obs else f"component[{fhirjson.items(obs.get('component')).index(part)}]."
            self._unread(obs, frozenset(), where + keys[0], VALUE_NOT_READ,
                         f"{shown(part[keys[0]])} is not a quantity (a number as text is not read as one)", when, [lab.name])
            return None
        return read_lab(part, lab, self.defs, self.terms, f"Observation/{obs.get('id')}", display, when, self.notes)

    def latest_labs(self) -> dict[str, LabResult]:
        """Per lab the latest result that can be read (a later unreadable one is noted and passed
        over); older results are never read, which keeps long lab histories cheap."""
        latest = {}
        for name, candidates in self._lab_candidates.items():
            for _, _, read in sorted(candidates, key=lambda c: (c[0], c[1]), reverse=True):
                result = read()
                if result:
                    latest[name] = result
                    break
        return latest
