"""cards/findings.yaml read into FindingDefs and checked against the value sets, once at start-up.

Every code list is a value-set id; this module only knows the *shape* of a finding definition.
A mistake is reported as "<file>: <place>: <problem>" so an informatics analyst can fix it.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Collection, Mapping

import yaml

from .schema import SAFE_LOADER, LibraryError

_WORSE_WHEN = ("lower", "higher")


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
class FindingDefs:
    findings: Mapping[str, FindingDef]
    labs: Mapping[str, LabDef]
    study_kinds: frozenset[str]
    medications: frozenset[str]
    contributor_medications: frozenset[str]
    symptom_observation: frozenset[str]
    answer_absent: frozenset[str]
    answer_present: frozenset[str]
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

    def names(self) -> frozenset[str]:
        return frozenset(self.findings)

    def in_category(self, category: str) -> frozenset[str]:
        """Names of the findings labelled with this category (e.g. red-flag)."""
        return frozenset(name for name, fdef in self.findings.items() if category in fdef.categories)


class _Reader:
    """Walks the YAML tree keeping the place, so every error names where it is."""

    def __init__(self, where: str, valuesets: Collection[str]):
        self.where = where
        self.valuesets = valuesets

    def fail(self, place: str, problem: str) -> None:
        raise LibraryError(f"{self.where}: {place}: {problem}")

    def mapping(self, value: Any, place: str, allowed: Collection[str], required: Collection[str] = ()) -> dict:
        if not isinstance(value, dict):
            self.fail(place, f"must be a mapping, got {type(value).__name__}")
        for key in value:
            if key not in allowed:
                self.fail(place, f"unknown key '{key}' (allowed: {', '.join(sorted(allowed))})")
        for key in required:
            if key not in value:
                self.fail(place, f"missing required key '{key}'")
        return value

    def text(self, value: Any, place: str) -> str:
        if not isinstance(value, str) or not value:
            self.fail(place, "must be a non-empty string")
        return value

    def number(self, value: Any, place: str) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.fail(place, f"must be a number, got {type(value).__name__}")
        return float(value)

    def ids(self, value: Any, place: str) -> frozenset[str]:
        """A value-set id or a list of them; each must exist in cards/valuesets."""
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not items:
            self.fail(place, "must be a value-set id or a non-empty list of value-set ids")
        for i, item in enumerate(items):
            spot = place if isinstance(value, str) else f"{place}[{i}]"
            if not isinstance(item, str):
                self.fail(spot, f"must be a value-set id, got {type(item).__name__}")
            if item not in self.valuesets:
                self.fail(spot, f"unknown value set '{item}'")
        return frozenset(items)

    def setting(self, value: Any, place: str) -> float:
        """A tunable number: {value: N, design_choice: bool, note: text}."""
        entry = self.mapping(value, place, ("value", "design_choice", "note", "unit"), ("value", "design_choice"))
        if not isinstance(entry["design_choice"], bool):
            self.fail(f"{place}.design_choice", "must be true or false")
        return self.number(entry["value"], f"{place}.value")


def _criterion(r: _Reader, value: Any, place: str) -> Criterion:
    entry = r.mapping(value, place, ("codes", "site", "not_site", "sides"), ("codes",))
    if entry.get("sides", "both") != "both":
        r.fail(f"{place}.sides", "the only value is 'both'")
    return Criterion(
        codes=r.ids(entry["codes"], f"{place}.codes"),
        site=r.ids(entry["site"], f"{place}.site") if "site" in entry else frozenset(),
        not_site=r.ids(entry["not_site"], f"{place}.not_site") if "not_site" in entry else frozenset(),
        both_sides="sides" in entry,
    )


def _finding(r: _Reader, name: str, value: Any, place: str) -> FindingDef:
    keys = ("label", "codes", "site", "not_site", "sides", "any_of", "category", "progression", "description", "history")
    entry = r.mapping(value, place, keys, ("label",))
    label = r.text(entry["label"], f"{place}.label")
    if ("any_of" in entry) == ("codes" in entry):
        r.fail(place, "needs either 'codes' or 'any_of' (not both)")
    if "any_of" in entry:
        if "site" in entry or "not_site" in entry or "sides" in entry:
            r.fail(place, "'site', 'not_site' and 'sides' go inside each 'any_of' entry")
        alternatives = entry["any_of"]
        if not isinstance(alternatives, list) or not alternatives:
            r.fail(f"{place}.any_of", "must be a non-empty list")
        criteria = tuple(_criterion(r, alt, f"{place}.any_of[{i}]") for i, alt in enumerate(alternatives))
    else:
        criteria = (_criterion(r, {k: entry[k] for k in ("codes", "site", "not_site", "sides") if k in entry}, place),)
    categories = entry.get("category", [])
    categories = [categories] if isinstance(categories, str) else categories
    if not isinstance(categories, list) or not all(isinstance(c, str) for c in categories):
        r.fail(f"{place}.category", "must be a name or a list of names")
    progression, worse_when = False, None
    if "progression" in entry:
        prog = r.mapping(entry["progression"] or {}, f"{place}.progression", ("graded_worse_when",))
        progression = True
        worse_when = prog.get("graded_worse_when")
        if worse_when is not None and worse_when not in _WORSE_WHEN:
            r.fail(f"{place}.progression.graded_worse_when", f"must be one of {', '.join(_WORSE_WHEN)}")
    description = entry.get("description", "")
    if not isinstance(description, str):
        r.fail(f"{place}.description", "must be text")
    history = entry.get("history", False)
    if not isinstance(history, bool):
        r.fail(f"{place}.history", "must be true or false")
    return FindingDef(name, criteria, frozenset(categories), progression, worse_when, description, history, label)


def _lab(r: _Reader, name: str, value: Any, place: str) -> LabDef:
    keys = ("codes", "unit", "convert", "fallback_low", "fallback_critical_low", "description", "label", "corrected_by")
    entry = r.mapping(value, place, keys, ("codes", "unit", "label"))
    unit = r.text(entry["unit"], f"{place}.unit")
    factors = {unit.lower(): 1.0}
    convert = r.mapping(entry.get("convert", {}), f"{place}.convert", [k for k in entry.get("convert", {})])
    for other, factor in convert.items():
        factors[str(other).lower()] = r.number(factor, f"{place}.convert.{other}")
    return LabDef(
        name=name,
        codes=r.ids(entry["codes"], f"{place}.codes"),
        unit=unit,
        factors=factors,
        fallback_low=r.setting(entry["fallback_low"], f"{place}.fallback_low") if "fallback_low" in entry else None,
        fallback_critical_low=(
            r.setting(entry["fallback_critical_low"], f"{place}.fallback_critical_low")
            if "fallback_critical_low" in entry
            else None
        ),
        label=r.text(entry["label"], f"{place}.label"),
        corrected_by=_correction(r, entry["corrected_by"], f"{place}.corrected_by") if "corrected_by" in entry else None,
    )


def _correction(r: _Reader, value: Any, place: str) -> Correction:
    keys = ("lab", "reference", "factor", "max_days_apart", "description")
    entry = r.mapping(value, place, keys, ("lab", "reference", "factor", "max_days_apart"))
    return Correction(
        lab=r.text(entry["lab"], f"{place}.lab"),
        reference=r.setting(entry["reference"], f"{place}.reference"),
        factor=r.setting(entry["factor"], f"{place}.factor"),
        max_days_apart=int(r.setting(entry["max_days_apart"], f"{place}.max_days_apart")),
    )


def _markers(r: _Reader, value: Any, place: str) -> frozenset[tuple[str, str]]:
    if not isinstance(value, list):
        r.fail(place, "must be a list of codings {system, code, display}")
    found = set()
    for i, item in enumerate(value):
        coding = r.mapping(item, f"{place}[{i}]", ("system", "code", "display"), ("system", "code"))
        found.add((r.text(coding["system"], f"{place}[{i}].system"), r.text(coding["code"], f"{place}[{i}].code")))
    return frozenset(found)


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
    r = _Reader(f"{path.parent.name}/{path.name}", valuesets if valuesets is not None else _known_valuesets(path))
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=SAFE_LOADER)
    except (OSError, yaml.YAMLError) as exc:
        raise LibraryError(f"{r.where}: cannot be read as YAML: {exc}") from exc
    top = ("version", "observations", "laterality", "sites", "progression", "findings", "labs", "studies", "medications",
           "contributor_medications")
    data = r.mapping(data, "(top level)", top, ("observations", "laterality", "sites", "progression", "findings", "labs"))
    obs = r.mapping(data["observations"], "observations",
                    ("symptom_observation", "answer_absent", "answer_present", "answer_unknown"),
                    ("symptom_observation", "answer_absent", "answer_present"))
    side = r.mapping(data["laterality"], "laterality", ("left", "right", "both"), ("left", "right", "both"))
    prog = r.mapping(data["progression"], "progression", ("markers",), ("markers",))
    labs_in = r.mapping(data["labs"], "labs", list(data["labs"]) if isinstance(data["labs"], dict) else ())
    interp = r.mapping(labs_in.get("interpretation", {}), "labs.interpretation", ("low", "critical_low"),
                       ("low", "critical_low"))
    findings_in = data["findings"]
    if not isinstance(findings_in, dict) or not findings_in:
        r.fail("findings", "must be a non-empty mapping of finding name -> definition")
    findings = {str(n): _finding(r, str(n), v, f"findings.{n}") for n, v in findings_in.items()}
    labs = {str(n): _lab(r, str(n), v, f"labs.{n}") for n, v in labs_in.items() if n != "interpretation"}
    for lab in labs.values():
        if lab.corrected_by and lab.corrected_by.lab not in labs:
            r.fail(f"labs.{lab.name}.corrected_by.lab", f"unknown lab '{lab.corrected_by.lab}'")
    by_concept: dict[str, list[tuple[FindingDef, Criterion]]] = {}
    for fdef in findings.values():
        for crit in fdef.criteria:
            for vs_id in crit.codes:
                by_concept.setdefault(vs_id, []).append((fdef, crit))
    lab_by_concept = {vs_id: lab for lab in labs.values() for vs_id in lab.codes}
    medications = r.ids(data["medications"], "medications") if "medications" in data else frozenset()
    contributors = (r.ids(data["contributor_medications"], "contributor_medications")
                    if "contributor_medications" in data else frozenset())
    if not contributors <= medications:
        r.fail("contributor_medications", f"not listed under medications, so never read: {sorted(contributors - medications)}")
    return FindingDefs(
        findings=findings,
        labs=labs,
        study_kinds=r.ids(data["studies"], "studies") if "studies" in data else frozenset(),
        medications=medications,
        contributor_medications=contributors,
        symptom_observation=r.ids(obs["symptom_observation"], "observations.symptom_observation"),
        answer_absent=r.ids(obs["answer_absent"], "observations.answer_absent"),
        answer_present=r.ids(obs["answer_present"], "observations.answer_present"),
        interpretation_low=r.ids(interp["low"], "labs.interpretation.low"),
        interpretation_critical_low=r.ids(interp["critical_low"], "labs.interpretation.critical_low"),
        side_left=r.ids(side["left"], "laterality.left"),
        side_right=r.ids(side["right"], "laterality.right"),
        side_both=r.ids(side["both"], "laterality.both"),
        sites=r.ids(data["sites"], "sites"),
        progression_markers=_markers(r, prog.get("markers", []), "progression.markers"),
        by_concept={k: tuple(v) for k, v in by_concept.items()},
        lab_by_concept=lab_by_concept,
        answer_unknown=(r.ids(obs["answer_unknown"], "observations.answer_unknown")
                        if "answer_unknown" in obs else frozenset()),
    )
