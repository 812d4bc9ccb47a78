"""Does any signed-off scenario exercise a changed setting? A diff that breaks no expectation only
reassures when some expectation could have broken: a threshold moved from 18 to 16 is tested only
by a scenario whose age lies between the two.

A signed-off scenario (one with an expected.yaml) exercises a changed setting when, run against
the current and the candidate library:
- a rule condition (or wording variant) that reads the setting holds under one and not under the
  other: the scenario's value (age, days since onset, grade, lab value) lies between the old and
  the new threshold;
- a rule whose population scope is the setting (`population.min_age`) is in scope under one only;
- a finding measured against the setting (cards/findings.yaml) is recorded under one only.
Uses elsewhere (cards/context.yaml's order policies, repeat windows) are named, not measured.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator, Mapping

from ..library.loader import Library
from ..library.lookup import Use, where


@dataclass(frozen=True)
class Untested:
    """A changed setting no signed-off scenario exercises."""

    setting: str
    before: float
    after: float
    unmeasured: tuple[str, ...] = ()  # its uses this check cannot see, as `cards where` names them

    def line(self) -> str:
        low, high = sorted((self.before, self.after))
        text = (f"UNTESTED: setting {self.setting} {self.before:g} -> {self.after:g}: no signed-off scenario "
                f"exercises it (none has a value between {low:g} and {high:g} where the library reads it); "
                f"add scenarios with an expected.yaml at the boundary before sign-off.")
        if self.unmeasured:
            text += f" Not measured here, check by hand: {'; '.join(self.unmeasured)}."
        return text

    def as_json(self) -> dict[str, Any]:
        return {"setting": self.setting, "before": self.before, "after": self.after,
                "unmeasured": list(self.unmeasured), "message": self.line()}


def changed_settings(current: Library, candidate: Library) -> dict[str, tuple[float, float]]:
    return {name: (value, candidate.settings[name]) for name, value in sorted(current.settings.items())
            if name in candidate.settings and candidate.settings[name] != value}


class Coverage:
    """Collects, scenario by scenario, which changed settings a signed-off scenario exercised."""

    def __init__(self, current: Library, candidate: Library) -> None:
        self.changed = changed_settings(current, candidate)
        self._uses: dict[str, list[Use]] = {name: where(candidate, name).uses for name in self.changed}
        self._scoped = {name: {r.id for r in candidate.rules if r.min_age == name} for name in self.changed}
        self._findings = {name: {u.name.split(".")[1] for u in uses if u.kind == "findings" and u.via.startswith("value")
                                 and u.name.count(".") >= 2} for name, uses in self._uses.items()}
        self.exercised: set[str] = set()

    def add(self, old: Mapping[str, Any], new: Mapping[str, Any]) -> None:
        """One signed-off scenario's explanations under the current and the candidate library."""
        for name in self.changed.keys() - self.exercised:
            if (_flipped(name, old, new) or _scope_moved(self._scoped[name], old, new)
                    or _finding_moved(self._findings[name], old, new)):
                self.exercised.add(name)

    def untested(self) -> tuple[Untested, ...]:
        return tuple(Untested(name, before, after, tuple(f"{u.kind} {u.name} ({u.via})" for u in self._uses[name]
                                                         if u.kind not in ("rule", "findings")))
                     for name, (before, after) in self.changed.items() if name not in self.exercised)


def _reads(name: str, report: Mapping[str, Any]) -> dict[tuple[str, str], list[bool]]:
    """(rule, condition) -> results of each evaluated condition or variant reading the setting."""
    found: dict[tuple[str, str], list[bool]] = {}
    for rule in report["rules"]:
        for leaf in (*_leaves(rule.get("when")), *rule.get("variants", [])):
            if any(a.get("setting") == name for a in leaf.get("about", [])):
                found.setdefault((rule["rule"], leaf["condition"]), []).append(bool(leaf["held"]))
    return found


def _leaves(node: Mapping[str, Any] | None) -> Iterator[Mapping[str, Any]]:
    if node is None:
        return
    if "children" in node:
        for child in node["children"]:
            yield from _leaves(child)
    else:
        yield node


def _flipped(name: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    a, b = _reads(name, old), _reads(name, new)
    return any(a[key] != b[key] for key in a.keys() & b.keys())


def _scope_moved(rules: set[str], old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    def out(report: Mapping[str, Any]) -> set[str]:
        return {r["rule"] for r in report["rules"] if r["rule"] in rules and r["outcome"] == "out of scope"}
    return out(old) != out(new)


def _finding_moved(findings: set[str], old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    def states(report: Mapping[str, Any]) -> list[Any]:
        return [(report["findings"].get(f) or {}).get("state") for f in sorted(findings)]
    return states(old) != states(new)
