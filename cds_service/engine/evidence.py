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
from .labs import LabResult, read_lab

# FHIR R4 status semantics (data hygiene H1, H2 (docs/clinical-safety.md §4)): engineering rules, not clinical knowledge.
_CONDITION_COUNTS = frozenset({"active", "recurrence", "relapse"})
_CONDITION_PAST = frozenset({"inactive", "remission", "resolved"})  # counts only for `history` findings
_CONDITION_VOID = frozenset({"refuted", "entered-in-error"})
_CONDITION_SUSPECTED = frozenset({"unconfirmed", "provisional", "differential"})
_OBSERVATION_COUNTS = frozenset({"final", "amended", "corrected", "preliminary"})
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
        self.items: dict[str, list[Item]] = defaultdict(list)
        # per lab, every result seen: (instant, order seen, read it); only the latest are read (latest_labs)
        self._lab_candidates: dict[str, list[tuple[datetime, int, Callable[[], LabResult | None]]]] = defaultdict(list)
        self.lab_ids = frozenset(defs.lab_by_concept)

    # ---- coded elements -------------------------------------------------------------------
    def _coded(self, concept: Any) -> tuple[list[tuple[dict, frozenset[str]]], frozenset[str]]:
        """Each coding with its value sets (one lookup per coding), and their union."""
        per_coding = []
        union: frozenset[str] = frozenset()
        for coding in fhirjson.codings(concept):
            ids = self.terms.concepts_for(coding.get("system"), coding["code"])
            per_coding.append((coding, ids))
            union |= ids
        return per_coding, union

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

    def _absent(self, concepts: Iterable[Any]) -> bool:
        return bool(self._concepts(concepts) & self.defs.answer_absent)

    def _unknown(self, concepts: Iterable[Any]) -> bool:
        """Unknown / not asked / not assessed: no evidence either way (docs/clinical-safety.md, correcting H3)."""
        return bool(self._concepts(concepts) & self.defs.answer_unknown)

    # ---- evidence -------------------------------------------------------------------------
    def _add(self, resource: dict, per_coding: list, concepts: frozenset[str], *, positive: bool,
             when: dates.When | None, suspected: bool, graded: float | None, marker: bool,
             recorded: date | None = None, past: bool = False) -> None:
        """Record the resource as evidence for every finding whose criterion it meets; a past
        Condition only for findings that ask for history (e.g. cancer, active or past)."""
        observation = resource.get("resourceType") == "Observation"
        body_site = self._body_site_concepts(resource.get("bodySite"))
        around = concepts | body_site
        sites = around & self.defs.sites
        sides = self._sides(around)
        reference = f"{resource.get('resourceType')}/{resource.get('id')}"
        day = when.day if when else None
        documented = max((d for d in (day, recorded) if d), default=None)
        instant = when.instant if when else None
        done: set[str] = set()
        for concept in concepts:
            for fdef, crit in self.defs.by_concept.get(concept, ()):
                if fdef.name in done or (crit.site and not crit.site & sites) or crit.not_site & sites:
                    continue
                if past and not fdef.history:
                    if self.decisions is not None:
                        status = fhirjson.code(resource.get("clinicalStatus"))
                        self.decisions.append((reference, fdef.name, f"ignored: clinicalStatus is {status}"))
                    continue
                done.add(fdef.name)
                group = (concepts & crit.codes, sites, sides) if observation else (reference,)
                display, code = self._display(per_coding, crit)
                evidence = Evidence(reference, display, day, positive, code, self._qualifiers(body_site, graded, fdef))
                self.items[fdef.name].append(Item(evidence, instant, group, suspected, observation, graded,
                                                  marker, sites, sides, crit.both_sides, documented))

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

    def condition(self, cond: dict) -> None:
        """H1: clinical and verification status; H5: onset."""
        per_coding, concepts = self._coded(cond.get("code"))
        if not self._relevant(concepts):
            return
        verification = fhirjson.code(cond.get("verificationStatus"))
        if verification in _CONDITION_VOID:
            self._decided(cond, f"ignored: verificationStatus is {verification}")
            return
        clinical = fhirjson.code(cond.get("clinicalStatus"))
        if clinical is None:
            self.notes.append(f"Condition/{cond.get('id')} has no clinicalStatus; treated as active")
        elif clinical not in _CONDITION_COUNTS | _CONDITION_PAST:
            self._decided(cond, f"ignored: clinicalStatus is {clinical}")
            return
        if ("onsetAge" in cond or "onsetRange" in cond) and self.birth is None:
            self.notes.append(f"Condition/{cond.get('id')} gives onset as an age but the patient has no birthDate")
        when = (
            dates.parse(cond.get("onsetDateTime"))
            or dates.parse_period_start(cond.get("onsetPeriod"))
            or dates.age_to_date(cond.get("onsetAge"), self.birth)
            or dates.age_to_date(fhirjson.mapping(cond.get("onsetRange")).get("low"), self.birth)
            or dates.parse(cond.get("recordedDate"))
        )
        recorded = dates.parse(cond.get("recordedDate"))
        self._add(cond, per_coding, concepts, positive=True, when=when,
                  suspected=verification in _CONDITION_SUSPECTED, graded=None,
                  marker=self._marker(cond, [cond.get("severity")]), recorded=recorded.day if recorded else None,
                  past=clinical in _CONDITION_PAST)

    def observation(self, obs: dict) -> None:
        """H2 status, H3 polarity; labs go to labs.py."""
        if fhirjson.text(obs.get("status")) not in _OBSERVATION_COUNTS:
            if self.decisions is not None and self._about_findings(obs):
                self._decided(obs, f"ignored: status is {fhirjson.text(obs.get('status')) or 'missing'}")
            return
        per_coding, concepts = self._coded(obs.get("code"))
        if concepts & self.lab_ids or obs.get("component"):
            self._labs(obs, concepts, per_coding)
        if "dataAbsentReason" in obs:
            if self.decisions is not None and self._about_findings(obs):
                self._decided(obs, "ignored: dataAbsentReason, no value")
            return
        if concepts & self.defs.symptom_observation:
            per_coding, concepts = self._coded(obs.get("valueCodeableConcept"))
            if not self._relevant(concepts):
                return
            positive: bool | None = self._symptom_polarity(obs)
        else:
            if not self._relevant(concepts):
                return
            positive = self._polarity(obs)
        if positive is None:
            return
        course = fhirjson.items(obs.get("interpretation")) + fhirjson.items([obs.get("valueCodeableConcept")])
        self._add(obs, per_coding, concepts, positive=positive, when=dates.effective(obs), suspected=False,
                  graded=_graded(obs, self.notes), marker=self._marker(obs, course))

    def _polarity(self, obs: dict) -> bool | None:
        """H3 for an Observation coded with the finding itself; None = not readable, ignore."""
        if "valueBoolean" in obs:
            return obs["valueBoolean"] is True
        value = obs.get("valueCodeableConcept")
        if isinstance(value, dict):
            return None if self._unknown([value]) else not self._absent([value])
        interpretation = fhirjson.items(obs.get("interpretation"))
        if self._absent(interpretation):
            return False
        if self._unknown(interpretation):
            return None
        if "valueQuantity" in obs or "valueInteger" in obs:
            return True
        if any(key.startswith("value") for key in obs):
            self.notes.append(f"Observation/{obs.get('id')}: value type not interpreted; ignored")
            return None
        return True

    def _symptom_polarity(self, obs: dict) -> bool | None:
        """A generic symptom Observation (value = the finding): negated by its interpretation or a
        component answer, no evidence when that answer is unknown, else positive."""
        answers = fhirjson.items(obs.get("interpretation"))
        answers += [comp.get("valueCodeableConcept") for comp in fhirjson.items(obs.get("component"))]
        if self._absent(answers) or any(comp.get("valueBoolean") is False for comp in fhirjson.items(obs.get("component"))):
            return False
        return None if self._unknown(answers) else True

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
