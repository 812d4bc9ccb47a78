"""Preview a library change: every case run against the current and a candidate card library.

Reports, in this order of weight: the signed-off expectations (a fixture's expected.yaml) the
candidate breaks; the cases that gain or lose a card or whose card changes indicator, with why
(the rule outcomes and the conditions whose result differs between the runs); and the cases whose
cards change wording only. Also the scenario x card-topic matrix for both libraries, and the
changed settings no signed-off scenario exercises (boundaries.py): a warning, not a verdict.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable, Iterator, Mapping, Sequence

from ..library.loader import Library
from .boundaries import Coverage, Untested
from .cases import Case, Run, run_case
from .expectations import Broken, broken_expectations

Card = tuple[str, str, str]  # topic, indicator, summary

# How much a candidate changes, worst first; the CLI's exit status (documented in docs/analyst.md).
VERDICTS = {"broken": 4, "cards": 3, "wording": 1, "none": 0}


def cards_of(run: Run) -> tuple[Card, ...]:
    return tuple(sorted((c["source"]["topic"]["code"], c["indicator"], c["summary"]) for c in run.cards))


def _wording(run: Run) -> dict[str, tuple[Any, ...]]:
    """Per topic, everything a clinician reads on the card: summary, detail, suggestion labels."""
    return {c["source"]["topic"]["code"]: (c["summary"], c.get("detail", ""),
                                           tuple(s.get("label", "") for s in c.get("suggestions") or []))
            for c in run.cards}


@dataclass(frozen=True)
class Change:
    case: str
    before: tuple[Card, ...]
    after: tuple[Card, ...]
    why: Mapping[str, Mapping[str, Any]]  # topic -> {"before": [...], "after": [...], "conditions": [...]}
    reworded: tuple[str, ...] = ()  # topics on both sides, same indicator, other words

    @property
    def gained(self) -> list[str]:
        return sorted({c[0] for c in self.after} - {c[0] for c in self.before})

    @property
    def lost(self) -> list[str]:
        return sorted({c[0] for c in self.before} - {c[0] for c in self.after})

    @property
    def indicator_changed(self) -> list[str]:
        """Topics on both sides shown with another indicator (info -> warning ...)."""
        old, new = {c[0]: c[1] for c in self.before}, {c[0]: c[1] for c in self.after}
        return sorted(t for t in old.keys() & new.keys() if old[t] != new[t])

    @property
    def wording_only(self) -> bool:
        return not (self.gained or self.lost or self.indicator_changed)


@dataclass(frozen=True)
class Preview:
    topics: tuple[str, ...]
    before: Mapping[str, Mapping[str, str]]  # case -> topic -> indicator
    after: Mapping[str, Mapping[str, str]]
    changes: tuple[Change, ...]
    broken: tuple[Broken, ...] = ()  # signed-off expectations the candidate does not meet
    signed_off: int = 0  # cases that carry an expected.yaml
    untested: tuple[Untested, ...] = ()  # changed settings no signed-off scenario exercises

    @property
    def cases(self) -> list[str]:
        return list(self.before)

    @property
    def card_changes(self) -> list[Change]:
        return [c for c in self.changes if not c.wording_only]

    @property
    def wording_changes(self) -> list[Change]:
        return [c for c in self.changes if c.wording_only]

    @property
    def broken_cases(self) -> list[str]:
        return list(dict.fromkeys(b.case for b in self.broken))

    @property
    def verdict(self) -> str:
        """The worst kind of change: broken, cards, wording or none (keys of VERDICTS)."""
        return "broken" if self.broken else "cards" if self.card_changes else "wording" if self.changes else "none"

    def headline(self) -> list[str]:
        """One line per kind of change, worst first, then the untested settings; what a CI log or
        the page leads with."""
        if self.verdict == "none":
            lines = [f"No scenario's cards change. {len(self.cases)} case(s) compared."]
        elif self.broken:
            lines = [f"BROKEN: {len(self.broken)} signed-off expectation(s) broken in {len(self.broken_cases)} "
                     f"of {self.signed_off} scenario(s) with an expected.yaml."]
        else:
            lines = [f"0 signed-off expectations broken ({self.signed_off} scenario(s) with an expected.yaml)."]
        if self.verdict != "none":
            lines.append(f"{len(self.card_changes)} scenario(s) gain or lose a card (or its indicator changes).")
            lines.append(f"{len(self.wording_changes)} scenario(s) change wording only.")
        return lines + [u.line() for u in self.untested]


def preview(current: Library, candidate: Library, cases: Iterable[Case], now: datetime) -> Preview:
    before: dict[str, dict[str, str]] = {}
    after: dict[str, dict[str, str]] = {}
    changes = []
    broken: list[Broken] = []
    signed_off = 0
    coverage = Coverage(current, candidate)
    for case in cases:
        old, new = run_case(current, case, now), run_case(candidate, case, now)
        before[case.id] = {c[0]: c[1] for c in cards_of(old)}
        after[case.id] = {c[0]: c[1] for c in cards_of(new)}
        if cards_of(old) != cards_of(new) or _wording(old) != _wording(new):
            changes.append(_change(case.id, old, new))
        if case.expected is not None:
            signed_off += 1
            broken += broken_expectations(case.id, case.expected, new.cards)
            coverage.add(old.report, new.report)
    topics = sorted({t for row in (*before.values(), *after.values()) for t in row})
    return Preview(tuple(topics), before, after, tuple(changes), tuple(broken), signed_off, coverage.untested())


def _change(case_id: str, old: Run, new: Run) -> Change:
    a, b = cards_of(old), cards_of(new)
    topics = sorted({c[0] for c in set(a) ^ set(b)})
    why = {topic: {"before": _rules(old.report, topic), "after": _rules(new.report, topic),
                   "conditions": _differing(old.report, new.report, topic)} for topic in topics}
    words_a, words_b = _wording(old), _wording(new)
    indicators_a, indicators_b = {c[0]: c[1] for c in a}, {c[0]: c[1] for c in b}
    reworded = tuple(sorted(t for t in words_a.keys() & words_b.keys()
                            if words_a[t] != words_b[t] and indicators_a[t] == indicators_b[t]))
    return Change(case_id, a, b, why, reworded)


def _rules(report: Mapping[str, Any], topic: str) -> list[dict[str, Any]]:
    return [{k: v for k, v in r.items() if k in ("rule", "outcome", "suppressedBy", "indicator")}
            for r in report["rules"] if r["topic"] == topic]


def _leaves(node: Mapping[str, Any] | None) -> Iterator[tuple[str, bool, str]]:
    """(condition as written, whether it held, the thresholds it used) for each leaf."""
    if node is None:
        return
    if "children" in node:
        for child in node["children"]:
            yield from _leaves(child)
        return
    thresholds = ", ".join(f"{a['setting']}={a['value']:g}" for a in node["about"] if "setting" in a)
    yield node["condition"], node["held"], thresholds


def _differing(old: Mapping[str, Any], new: Mapping[str, Any], topic: str) -> list[dict[str, Any]]:
    """Conditions of this topic's rules whose result or threshold differs between the runs
    (None: the condition did not run on that side)."""
    def leaves(report: Mapping[str, Any]) -> dict[str, tuple[bool, str]]:
        return {c: (held, limits) for r in report["rules"] if r["topic"] == topic for c, held, limits in _leaves(r.get("when"))}

    a, b = leaves(old), leaves(new)
    out = []
    for condition in sorted(a.keys() | b.keys()):
        if a.get(condition) != b.get(condition):
            entry: dict[str, Any] = {"condition": condition, "before": a[condition][0] if condition in a else None,
                                     "after": b[condition][0] if condition in b else None}
            limits = (a.get(condition, (None, ""))[1], b.get(condition, (None, ""))[1])
            if limits[0] != limits[1] and all(limits):
                entry["thresholds"] = f"{limits[0]} -> {limits[1]}"
            out.append(entry)
    return out


def change_lines(change: Change) -> Sequence[str]:
    """A change as terminal lines: cards lost (-) and gained (+), then why, per topic."""
    lines = [f"  - {c[1]:8} {c[0]}: {c[2]}" for c in sorted(set(change.before) - set(change.after))]
    lines += [f"  + {c[1]:8} {c[0]}: {c[2]}" for c in sorted(set(change.after) - set(change.before))]
    lines += [f"  ~ {t}: wording changes (detail or suggestion labels)" for t in change.reworded
              if t not in change.why]
    for topic, why in change.why.items():
        old = ", ".join(_outcome(r) for r in why["before"]) or "no rule"
        new = ", ".join(_outcome(r) for r in why["after"]) or "no rule"
        lines.append(f"    why {topic}: before {old}; after {new}")
        for cond in why["conditions"]:
            limits = f" [{cond['thresholds']}]" if "thresholds" in cond else ""
            lines.append(f"      {cond['condition']}{limits}: {_held(cond['before'])} -> {_held(cond['after'])}")
    return lines


def _outcome(rule: Mapping[str, Any]) -> str:
    text = f"{rule['rule']} {rule['outcome']}"
    if rule.get("suppressedBy"):
        text += f" by {rule['suppressedBy']}"
    return text + (f" ({rule['indicator']})" if rule.get("indicator") else "")


def _held(value: bool | None) -> str:
    return "not evaluated" if value is None else "held" if value else "did not hold"
