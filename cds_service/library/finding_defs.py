"""cards/findings.yaml read into FindingDefs, once at start-up.

The shape of the file is checked against cards/schema/findings.schema.json, like every other
card file; this module resolves the names in it (value-set ids, lab names) and builds the lookup
tables the hot path uses. A mistake is reported as "<file>: <place>: <problem>".
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Collection, Mapping

from .measures import MeasureDef, load_measures
from .schema import LibraryError, check_schema, read_schema, read_yaml


@dataclass(frozen=True)
class Criterion:
    """One way to evidence a finding: a coding in `codes`, a site in `site` (if given), none in `not_site`;
    with `both_sides`, only once the evidence of this criterion covers right and left (e.g. buttocks)."""

    codes: frozenset[str]
    site: frozenset[str] = frozenset()
    not_site: frozenset[str] = frozenset()
    both_sides: bool = False


@dataclass(frozen=True)
class FindingDef:
    name: str
    criteria: tuple[Criterion, ...]
    categories: frozenset[str] = frozenset()
    progression: bool = False  # whether "progressive" is worked out for this finding
    graded_worse_when: str | None = None  # "lower" (MRC grade) or "higher" (pain score)
    description: str = ""
    history: bool = False  # a past (inactive, remission, resolved) Condition counts too, e.g. cancer history
    label: str = ""  # the clinical term a card shows ("Saddle anaesthesia")


@dataclass(frozen=True)
class Correction:
    """value + factor x (reference - other lab's value), when the other lab is at most max_days_apart."""

    lab: str
    reference: float
    factor: float
    max_days_apart: int


@dataclass(frozen=True)
class LabDef:
    name: str
    codes: frozenset[str]
    unit: str  # canonical unit
    factors: Mapping[str, float]  # lower-cased unit -> multiply to get the canonical unit
    fallback_low: float | None
    fallback_critical_low: float | None
    label: str = ""  # how a card names it, mid-sentence ("ionised calcium")
    corrected_by: Correction | None = None

    def to_canonical(self, value: float, unit: str | None) -> float | None:
        factor = self.factors.get((unit or self.unit).strip().lower())
        return None if factor is None else value * factor


@dataclass(frozen=True)
class ImagingKind:
    """An ImagingStudy with a modality in `modality` and a series bodySite in `site` is a `study`."""

    study: str
    modality: frozenset[str]
    site: frozenset[str]


@dataclass(frozen=True)
class FindingDefs:
    findings: Mapping[str, FindingDef]
    labs: Mapping[str, LabDef]
    study_kinds: frozenset[str]
    medications: frozenset[str]
    contributor_medications: frozenset[str]
    symptom_observation: frozenset[str]
    answer_absent: frozenset[str]
    interpretation_low: frozenset[str]
    interpretation_critical_low: frozenset[str]
    side_left: frozenset[str]
    side_right: frozenset[str]
    side_both: frozenset[str]
    sites: frozenset[str]
    progression_markers: frozenset[tuple[str, str]]
    # value-set id -> the (finding, criterion) pairs it can evidence; built once for the hot path
    by_concept: Mapping[str, tuple[tuple[FindingDef, Criterion], ...]] = field(default_factory=dict)
    lab_by_concept: Mapping[str, LabDef] = field(default_factory=dict)
    answer_unknown: frozenset[str] = frozenset()  # Unknown / not asked: no evidence either way
    answer_positive: frozenset[str] = frozenset()  # Yes / present / positive / detected
    # the closed list of text answers, lower-cased: word -> "positive", "absent" or "unknown"
    answer_text: Mapping[str, str] = field(default_factory=dict)
    # measured findings (library/measures.py): also in `findings`, with no criteria, so rules name them
    measures: Mapping[str, MeasureDef] = field(default_factory=dict)
    measure_by_concept: Mapping[str, tuple[MeasureDef, ...]] = field(default_factory=dict)
    interpretation_high: frozenset[str] = frozenset()
    imaging_studies: tuple[ImagingKind, ...] = ()  # ImagingStudy read by modality and body site

    def names(self) -> frozenset[str]:
        return self._names

    @cached_property
    def _names(self) -> frozenset[str]:
        return frozenset(self.findings)

    @cached_property
    def read_concepts(self) -> frozenset[str]:
        """Value sets an Observation's code must be in for the evidence reader to read it: a
        finding's, a lab's or a symptom question's (engine/evidence.py passes over the rest)."""
        return frozenset(self.by_concept) | frozenset(self.lab_by_concept) | self.symptom_observation

    @cached_property
    def measured_concepts(self) -> frozenset[str]:
        """Value sets of the measured findings (temperature, CRP ...): engine/measured.py reads only these."""
        return frozenset(self.measure_by_concept)

    def in_category(self, category: str) -> frozenset[str]:
        """Names of the findings labelled with this category (e.g. red-flag)."""
        return frozenset(name for name, fdef in self.findings.items() if category in fdef.categories)


class _Names:
    """Resolves value-set ids, naming the place of any that is not in cards/valuesets."""

    def __init__(self, where: str, valuesets: Collection[str]):
        self.where = where
        self.valuesets = valuesets

    def ids(self, value: str | list[str], place: str) -> frozenset[str]:
        """A value-set id or a list of them (the schema has checked which)."""
        items = [value] if isinstance(value, str) else value
        for i, item in enumerate(items):
            if item not in self.valuesets:
                spot = place if isinstance(value, str) else f"{place}[{i}]"
                raise LibraryError(f"{self.where}: {spot}: unknown value set '{item}'")
        return frozenset(items)

    def optional(self, entry: Mapping[str, Any], key: str, parent: str = "") -> frozenset[str]:
        return self.ids(entry[key], f"{parent}.{key}" if parent else key) if key in entry else frozenset()


def _imaging_studies(names: _Names, data: Mapping[str, Any]) -> tuple[ImagingKind, ...]:
    found = []
    for i, entry in enumerate(data.get("imaging_studies", [])):
        place = f"imaging_studies[{i}]"
        (study,) = names.ids(entry["study"], f"{place}.study")
        if study not in names.optional(data, "studies"):
            raise LibraryError(f"{names.where}: {place}.study: '{study}' is not listed under studies")
        found.append(ImagingKind(study, names.ids(entry["modality"], f"{place}.modality"),
                                 names.ids(entry["site"], f"{place}.site")))
    return tuple(found)


def _criterion(names: _Names, entry: Mapping[str, Any], place: str) -> Criterion:
    return Criterion(
        codes=names.ids(entry["codes"], f"{place}.codes"),
        site=names.optional(entry, "site", place),
        not_site=names.optional(entry, "not_site", place),
        both_sides="sides" in entry,
    )


def _finding(names: _Names, name: str, entry: Mapping[str, Any], place: str) -> FindingDef:
    if "any_of" in entry:
        criteria = tuple(_criterion(names, alt, f"{place}.any_of[{i}]") for i, alt in enumerate(entry["any_of"]))
    else:
        criteria = (_criterion(names, entry, place),)
    categories = entry.get("category", [])
    progression = entry.get("progression", False)
    return FindingDef(
        name=name,
        criteria=criteria,
        categories=frozenset([categories] if isinstance(categories, str) else categories),
        progression="progression" in entry,
        graded_worse_when=(progression or {}).get("graded_worse_when"),
        description=entry.get("description", ""),
        history=entry.get("history", False),
        label=entry["label"],
    )


def _lab(names: _Names, name: str, entry: Mapping[str, Any], place: str) -> LabDef:
    unit = entry["unit"]
    factors = {unit.lower(): 1.0} | {str(other).lower(): float(f) for other, f in entry.get("convert", {}).items()}
    corrected = entry.get("corrected_by")
    return LabDef(
        name=name,
        codes=names.ids(entry["codes"], f"{place}.codes"),
        unit=unit,
        factors=factors,
        fallback_low=_setting(entry.get("fallback_low")),
        fallback_critical_low=_setting(entry.get("fallback_critical_low")),
        label=entry["label"],
        corrected_by=None if corrected is None else Correction(
            lab=corrected["lab"],
            reference=float(corrected["reference"]["value"]),
            factor=float(corrected["factor"]["value"]),
            max_days_apart=int(corrected["max_days_apart"]["value"]),
        ),
    )


def _setting(entry: Mapping[str, Any] | None) -> float | None:
    return None if entry is None else float(entry["value"])


def _answer_text(entry: Mapping[str, Any], where: str) -> dict[str, str]:
    """observations.answer_text as word -> reading; a word listed under two readings is refused."""
    words: dict[str, str] = {}
    for reading, listed in entry.items():
        for word in listed:
            key = word.strip().casefold()
            if words.setdefault(key, reading) != reading:
                raise LibraryError(f"{where}: observations.answer_text.{reading}: '{word}' is also "
                                   f"listed under {words[key]}")
    return words


def _known_valuesets(path: Path) -> frozenset[str]:
    ids = set()
    for vs_file in sorted((path.parent / "valuesets").glob("*.json")):
        try:
            ids.add(json.loads(vs_file.read_text(encoding="utf-8"))["id"])
        except (OSError, ValueError, KeyError, TypeError):
            ids.add(vs_file.stem)
    return frozenset(ids)


def load_finding_defs(path: Path, valuesets: Collection[str] | None = None) -> FindingDefs:
    """Read and check cards/findings.yaml. `valuesets`: known ids (default: the sibling valuesets/)."""
    path = Path(path)
    where = f"{path.parent.name}/{path.name}"
    data = read_yaml(path, where)
    check_schema(data, read_schema(path.parent, "findings"), where)
    names = _Names(where, valuesets if valuesets is not None else _known_valuesets(path))
    findings = {str(n): _finding(names, str(n), v, f"findings.{n}") for n, v in data["findings"].items()}
    measured = data.get("measurements", {})
    measures = load_measures(measured, names.ids, path.parent / "settings.yaml", where)
    for name, measure in measures.items():
        if name in findings:
            raise LibraryError(f"{where}: measurements.{name}: already a finding of that name")
        findings[name] = FindingDef(name=name, criteria=(), progression=True, label=measure.label,
                                    description=measured[name].get("description", ""))
    measure_by_concept: dict[str, list[MeasureDef]] = {}
    for measure in measures.values():
        for vs_id in measure.codes:
            measure_by_concept.setdefault(vs_id, []).append(measure)
    labs = {str(n): _lab(names, str(n), v, f"labs.{n}") for n, v in data["labs"].items() if n != "interpretation"}
    for lab in labs.values():
        if lab.corrected_by and lab.corrected_by.lab not in labs:
            raise LibraryError(f"{where}: labs.{lab.name}.corrected_by.lab: unknown lab '{lab.corrected_by.lab}'")
    by_concept: dict[str, list[tuple[FindingDef, Criterion]]] = {}
    for fdef in findings.values():
        for crit in fdef.criteria:
            for vs_id in crit.codes:
                by_concept.setdefault(vs_id, []).append((fdef, crit))
    medications = names.optional(data, "medications")
    contributors = names.optional(data, "contributor_medications")
    if not contributors <= medications:
        raise LibraryError(f"{where}: contributor_medications: not listed under medications, so never read: "
                           f"{sorted(contributors - medications)}")
    obs, side, interp = data["observations"], data["laterality"], data["labs"]["interpretation"]
    return FindingDefs(
        findings=findings,
        labs=labs,
        study_kinds=names.optional(data, "studies"),
        imaging_studies=_imaging_studies(names, data),
        medications=medications,
        contributor_medications=contributors,
        symptom_observation=names.ids(obs["symptom_observation"], "observations.symptom_observation"),
        answer_absent=names.ids(obs["answer_absent"], "observations.answer_absent"),
        interpretation_low=names.ids(interp["low"], "labs.interpretation.low"),
        interpretation_critical_low=names.ids(interp["critical_low"], "labs.interpretation.critical_low"),
        side_left=names.ids(side["left"], "laterality.left"),
        side_right=names.ids(side["right"], "laterality.right"),
        side_both=names.ids(side["both"], "laterality.both"),
        sites=names.ids(data["sites"], "sites"),
        progression_markers=frozenset((m["system"], m["code"]) for m in data["progression"]["markers"]),
        by_concept={k: tuple(v) for k, v in by_concept.items()},
        lab_by_concept={vs_id: lab for lab in labs.values() for vs_id in lab.codes},
        answer_unknown=names.optional(obs, "answer_unknown", "observations"),
        answer_positive=names.ids(obs["answer_positive"], "observations.answer_positive"),
        answer_text=_answer_text(obs.get("answer_text", {}), where),
        measures=measures,
        measure_by_concept={k: tuple(v) for k, v in measure_by_concept.items()},
        interpretation_high=names.optional(measured.get("interpretation", {}), "high", "measurements.interpretation"),
    )
