"""The SNOMED GPS coverage ledger (cards/coverage.yaml).

A record coded with a SNOMED concept that no value set holds is invisible to every rule. The
ledger makes that gap visible: every GPS concept whose term matches one of the service's topics
must sit in a value set (with its limb region and side where its term names one) or be excluded
with a reason. The patterns and exclusions are data; this module only applies them.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from .schema import LibraryError, check_schema, read_schema, read_yaml
from .terminology import Terminology, load_terminology

SNOMED = "http://snomed.info/sct"
LEDGER_FILE = "coverage.yaml"


@dataclass(frozen=True)
class TopicCount:
    """One topic's concepts: matched = in_valuesets + excluded + missing."""

    topic: str
    matched: frozenset[str]
    in_valuesets: frozenset[str]
    excluded: frozenset[str]
    missing: frozenset[str]


@dataclass(frozen=True)
class Ledger:
    topics: tuple[TopicCount, ...]
    terms: Mapping[str, str]   # GPS id -> FSN
    problems: tuple[str, ...]  # exclusions or value-set placements that contradict the ledger

    def _all(self, field: str) -> frozenset[str]:
        return frozenset().union(*(getattr(t, field) for t in self.topics))

    @property
    def matched(self) -> frozenset[str]:
        return self._all("matched")

    @property
    def in_valuesets(self) -> frozenset[str]:
        return self._all("in_valuesets")

    @property
    def excluded(self) -> frozenset[str]:
        return self._all("excluded")

    @property
    def missing(self) -> frozenset[str]:
        return self._all("missing")

    @property
    def complete(self) -> bool:
        return not self.missing and not self.problems


def read_gps(path: Path) -> dict[str, str]:
    """GPS concept id -> fully specified name, from the tab-separated list."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return dict(line.split("\t", 1) for line in lines if "\t" in line)


def _compile(patterns: list[str]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)


def _semantic_tag(term: str) -> str:
    return term[term.rfind("(") + 1:-1] if term.endswith(")") else ""


def _exclusions(groups: list[Mapping], terms: Mapping[str, str]) -> tuple[dict[str, str], list[str]]:
    """Excluded id -> reason; the term written beside each id must be its GPS term (no typo'd ids)."""
    reasons: dict[str, str] = {}
    problems = []
    for group in groups:
        for code, term in group["concepts"].items():
            code = str(code)
            if code in reasons:
                problems.append(f"{code} is excluded twice")
            elif code in terms and terms[code] != term:
                problems.append(f"{code} is excluded as '{term}' but its GPS term is '{terms[code]}'")
            reasons[code] = group["reason"]
    return reasons, problems


def _placement_problems(data: Mapping, terms: Mapping[str, str], snomed_sets: Mapping[str, frozenset[str]],
                        placed: Mapping[str, set[str]]) -> list[str]:
    """A concept in a region-free value set whose term names a limb region or side must also sit
    in that site-* / side-* set, or the engine cannot see where the finding is."""
    problems = []
    region_free = set(data["region_free_valuesets"])
    for rule_key in ("regions", "sides"):
        for target, patterns in data[rule_key].items():
            pattern = _compile(patterns)
            for code, valuesets in sorted(placed.items()):
                if rule_key == "regions" and not valuesets & region_free:
                    continue
                if pattern.search(terms[code]) and code not in snomed_sets[target]:
                    problems.append(f"{code} {terms[code]}: names {target} but is not in it")
    return problems


def build_ledger(cards_dir: Path, terminology: Terminology | None = None) -> Ledger:
    """Match every GPS concept against the topics, and account for each match."""
    where = f"cards/{LEDGER_FILE}"
    data = read_yaml(Path(cards_dir) / LEDGER_FILE, where)
    check_schema(data, read_schema(cards_dir, "coverage"), where)
    try:
        terms = read_gps(Path(cards_dir) / data["gps"])
    except OSError as exc:
        raise LibraryError(f"{where}: gps: {data['gps']} cannot be read ({exc.strerror})") from None
    terminology = terminology or load_terminology(Path(cards_dir) / "valuesets")
    snomed_sets = {vs_id: frozenset(c for s, c in vs.codes if s == SNOMED) for vs_id, vs in terminology.valuesets.items()}
    reasons, problems = _exclusions(data["excluded"], terms)
    tags = set(data["semantic_tags"])
    clinical = {code: term for code, term in terms.items() if _semantic_tag(term) in tags}

    topics, placed = [], {}
    for topic, spec in data["topics"].items():
        pattern = _compile(spec["patterns"])
        matched = frozenset(code for code, term in clinical.items() if pattern.search(term))
        held = frozenset(code for code in matched if terminology.concepts_for(SNOMED, code))
        for code in held:
            placed[code] = set(terminology.concepts_for(SNOMED, code))
        excluded = frozenset(code for code in matched - held if code in reasons)
        topics.append(TopicCount(topic, matched, held, excluded, matched - held - excluded))

    every_match = frozenset().union(*(t.matched for t in topics))
    for code in sorted(reasons):
        if code not in terms:
            problems.append(f"{code} is excluded but not in the GPS list")
        elif terminology.concepts_for(SNOMED, code):
            problems.append(f"{code} {terms[code]}: excluded but in {sorted(terminology.concepts_for(SNOMED, code))}")
        elif code not in every_match:
            problems.append(f"{code} {terms[code]}: excluded but no topic matches it")
    problems += _placement_problems(data, terms, snomed_sets, placed)
    return Ledger(tuple(topics), terms, tuple(problems))
