"""Value sets from cards/valuesets as an in-memory index, built once at start-up.

The rules never see codes: they ask which named concepts a coding belongs to. A coding from the
record is put in canonical form (cards/code-systems.yaml) here, where it is looked up, and nowhere
else; the index itself holds canonical codings only.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

from .codesystems import CodeSystems, Coding, load_code_systems
from .schema import LibraryError, Problems, check_schema, read_schema

_NONE: frozenset[str] = frozenset()
# Codings not in canonical form (or in no value set) remembered as sent: records repeat the same
# vitals and routine-lab codes, and normalising them again costs more than the lookup itself.
_AS_SENT_LIMIT = 8192


@dataclass(frozen=True)
class ValueSet:
    id: str
    title: str  # shown on cards that name a drug class
    codes: frozenset[Coding]
    displays: Mapping[Coding, str]
    unverified: frozenset[Coding]


class Terminology:
    """Answers "which value sets hold this coding?" in one dict lookup (two for a non-canonical one)."""

    def __init__(self, valuesets: Iterable[ValueSet], systems: CodeSystems):
        self.valuesets: dict[str, ValueSet] = {vs.id: vs for vs in valuesets}
        self.systems = systems
        index: dict[Coding, set[str]] = {}
        problems = []
        for vs in self.valuesets.values():
            for coding in sorted(vs.codes):
                if systems.canonical(*coding) != coding:
                    problems.append(f"cards/valuesets/{vs.id}.json: {coding[0]} {coding[1]!r} is not in canonical form "
                                    f"(expected {systems.canonical(*coding)}; see cards/code-systems.yaml)")
                index.setdefault(coding, set()).add(vs.id)
        if problems:
            raise LibraryError.of(problems)
        self._index = {coding: frozenset(ids) for coding, ids in index.items()}
        self._as_sent: dict[Coding, frozenset[str]] = {}

    def canonical(self, system: str | None, code: str | None) -> Coding:
        """A coding as the record sends it -> as the value sets write it."""
        return self.systems.canonical(system, code)

    def concepts_for(self, system: str | None, code: str | None) -> frozenset[str]:
        raw = (system or "", code or "")
        found = self._index.get(raw)
        if found is None:
            found = self._as_sent.get(raw)
        if found is None:
            coding = self.systems.canonical(*raw)
            found = self._index.get(coding, _NONE) if coding != raw else _NONE
            if len(self._as_sent) < _AS_SENT_LIMIT:
                self._as_sent[raw] = found
        return found

    def concepts_in(self, codings: Iterable[Mapping]) -> frozenset[str]:
        """Value-set ids for a list of FHIR Coding dicts (a CodeableConcept's `coding`)."""
        found: set[str] = set()
        for coding in codings or ():
            found |= self.concepts_for(coding.get("system"), coding.get("code"))
        return frozenset(found)

    def codes(self, valueset_id: str) -> frozenset[Coding]:
        return self.valuesets[valueset_id].codes

    def display(self, system: str | None, code: str | None) -> str | None:
        coding = self.systems.canonical(system, code)
        for vs_id in self.concepts_for(*coding):
            shown = self.valuesets[vs_id].displays.get(coding)
            if shown:
                return shown
        return None


ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
FILTER_OPS = ("is-a", "descendent-of")  # FHIR filter-operator: with / without the code itself


def filter_problem(system: str, filt: Any) -> str | None:
    """Why a compose filter is not one this service understands, or None."""
    if system != ICD10CM:
        return f"filters are supported for ICD-10-CM only, not {system}"
    if not isinstance(filt, dict) or filt.get("property") != "concept" or filt.get("op") not in FILTER_OPS:
        return "a filter must be {property: concept, op: is-a | descendent-of, value: <ICD-10-CM code>}"
    if not isinstance(filt.get("value"), str) or not filt["value"]:
        return "a filter needs an ICD-10-CM code as its value"
    return None


UNVERIFIED_EXTENSION = "http://example.org/nerve-cds/StructureDefinition/code-verification"


def read_valueset(path: Path, schema: Mapping[str, Any]) -> ValueSet:
    """A FHIR ValueSet: compose.include concepts, plus the `expansion` of any ICD-10-CM filter
    (written at build time by cds_service.tools.valueset_expansion)."""
    where = f"cards/valuesets/{path.name}"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise LibraryError(f"{where}: cannot be read ({exc.strerror})") from None
    except ValueError as exc:
        raise LibraryError(f"{where}: not valid JSON: {exc}") from None
    check_schema(data, schema, where)
    if data["id"] != path.stem:
        raise LibraryError(f"{where}: id: '{data['id']}' must be the file name without .json ('{path.stem}')")
    codes: set[Coding] = set()
    displays: dict[Coding, str] = {}
    unverified: set[Coding] = set()
    filtered = False
    for include in data.get("compose", {}).get("include", []):
        system = include["system"]
        for filt in include.get("filter", []):
            problem = filter_problem(system, filt)
            if problem:
                raise LibraryError(f"{where}: compose.include.filter: {problem}")
            filtered = True
        for concept in include.get("concept", []):
            coding = (system, concept["code"])
            codes.add(coding)
            if concept.get("display"):
                displays[coding] = concept["display"]
            for ext in concept.get("extension", []):
                if ext.get("url") == UNVERIFIED_EXTENSION and ext.get("valueCode") == "unverified":
                    unverified.add(coding)
    if filtered and not data.get("expansion", {}).get("contains"):
        raise LibraryError(f"{where}: has a filter but no expansion; "
                           "run python -m cds_service.tools.valueset_expansion")
    for row in data.get("expansion", {}).get("contains", []):
        coding = (row["system"], row["code"])
        codes.add(coding)
        if row.get("display"):
            displays.setdefault(coding, row["display"])
    return ValueSet(
        id=data["id"],
        title=data.get("title", data["id"]),
        codes=frozenset(codes),
        displays=displays,
        unverified=frozenset(unverified),
    )


def load_terminology(directory: Path, systems: CodeSystems | None = None) -> Terminology:
    """The value sets in `directory`; code systems from the sibling code-systems.yaml by default."""
    directory = Path(directory)
    problems = Problems()  # every broken value set and the code systems, not only the first
    known: list[CodeSystems] = [] if systems is None else [systems]
    if systems is None:
        with problems.collect():
            known.append(load_code_systems(directory.parent))
    schema = read_schema(directory.parent, "valueset")
    valuesets = []
    for path in sorted(directory.glob("*.json")):
        with problems.collect():
            valuesets.append(read_valueset(path, schema))
    problems.raise_any()
    return Terminology(valuesets, known[0])
