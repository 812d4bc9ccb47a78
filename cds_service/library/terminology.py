"""Value sets from cards/valuesets as an in-memory index, built once at start-up.

The rules never see codes: they ask which named concepts a coding belongs to.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping

Coding = tuple[str, str]  # (system, code)


@dataclass(frozen=True)
class ValueSet:
    id: str
    url: str
    title: str
    codes: frozenset[Coding]
    displays: Mapping[Coding, str]
    unverified: frozenset[Coding]


class Terminology:
    """Answers "which value sets hold this coding?" in one dict lookup."""

    def __init__(self, valuesets: Iterable[ValueSet]):
        self.valuesets: dict[str, ValueSet] = {vs.id: vs for vs in valuesets}
        index: dict[Coding, set[str]] = {}
        for vs in self.valuesets.values():
            for coding in vs.codes:
                index.setdefault(coding, set()).add(vs.id)
        self._index = {coding: frozenset(ids) for coding, ids in index.items()}

    def concepts_for(self, system: str | None, code: str | None) -> frozenset[str]:
        return self._index.get((system or "", code or ""), frozenset())

    def concepts_in(self, codings: Iterable[Mapping]) -> frozenset[str]:
        """Value-set ids for a list of FHIR Coding dicts (a CodeableConcept's `coding`)."""
        found: set[str] = set()
        for coding in codings or ():
            found |= self.concepts_for(coding.get("system"), coding.get("code"))
        return frozenset(found)

    def codes(self, valueset_id: str) -> frozenset[Coding]:
        return self.valuesets[valueset_id].codes

    def display(self, system: str, code: str) -> str | None:
        for vs_id in self.concepts_for(system, code):
            shown = self.valuesets[vs_id].displays.get((system, code))
            if shown:
                return shown
        return None


UNVERIFIED_EXTENSION = "http://example.org/nerve-cds/StructureDefinition/code-verification"


def read_valueset(path: Path) -> ValueSet:
    """A FHIR ValueSet with an enumerated compose.include (concepts listed, no filters)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    codes: set[Coding] = set()
    displays: dict[Coding, str] = {}
    unverified: set[Coding] = set()
    for include in data.get("compose", {}).get("include", []):
        system = include["system"]
        for concept in include.get("concept", []):
            coding = (system, concept["code"])
            codes.add(coding)
            if concept.get("display"):
                displays[coding] = concept["display"]
            for ext in concept.get("extension", []):
                if ext.get("url") == UNVERIFIED_EXTENSION and ext.get("valueCode") == "unverified":
                    unverified.add(coding)
    return ValueSet(
        id=data["id"],
        url=data.get("url", ""),
        title=data.get("title", data["id"]),
        codes=frozenset(codes),
        displays=displays,
        unverified=frozenset(unverified),
    )


def load_terminology(directory: Path) -> Terminology:
    return Terminology(read_valueset(p) for p in sorted(directory.glob("*.json")))
