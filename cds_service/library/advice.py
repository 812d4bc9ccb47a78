"""What a card advises, read from its own suggestions, and the sources it may therefore cite.

A source in cards/sources.yaml names under `argues_against` the advice it speaks against (a Choosing
Wisely "don't image in the first six weeks" argues against imaging now); a card that gives that
advice may not cite it (issue #18). Each advice named under `advice:` in sources.yaml is read here
from the card, in the card or any of its variants, so no rule has to declare it by hand.
"""
from __future__ import annotations

from typing import Any, Callable, Iterable, Mapping

from .rules import Rule
from .terminology import Terminology

NOW = frozenset({"urgent", "asap", "stat"})


def _suggestions(rule: Rule) -> Iterable[Mapping[str, Any]]:
    yield from rule.text.suggestions
    for variant in rule.variants:
        yield from variant.text.suggestions


def _draft_kinds(node: Any) -> set[str]:
    """The study kinds of the drafts a condition tree asks about (draft, about_drafts ...)."""
    if isinstance(node, list):
        return set().union(*(_draft_kinds(n) for n in node)) if node else set()
    if not isinstance(node, dict):
        return set()
    kinds: set[str] = set()
    for key, arg in node.items():
        if key in ("draft", "about_drafts", "no_draft", "draft_duplicate") and isinstance(arg, dict):
            kinds |= {arg["kinds"]} if isinstance(arg["kinds"], str) else set(arg["kinds"])
        else:
            kinds |= _draft_kinds(arg)
    return kinds


def _imaging_now(rule: Rule, orders: Mapping[str, Any], imaging: Callable[[list], bool],
                 imaging_kinds: frozenset[str]) -> bool:
    """An imaging order at priority urgent, asap or stat, or a draft made one of those by a rule
    about imaging drafts."""
    about_imaging = bool(_draft_kinds([rule.when, *(v.when for v in rule.variants)]) & imaging_kinds)
    for spec in _suggestions(rule):
        order = orders.get(spec.get("order", ""))
        if order and any(imaging(r["code"]) and r.get("priority") in NOW for r in order["requests"]):
            return True
        if about_imaging and spec.get("update_drafts", {}).get("priority") in NOW:
            return True
    return False


ADVICE: Mapping[str, Callable[[Rule, Mapping[str, Any], Callable[[list], bool], frozenset[str]], bool]] = {
    "imaging-now": _imaging_now,
}


def citation_problems(rules: Iterable[Rule], sources: Mapping[str, Any], orders: Mapping[str, Any],
                      terminology: Terminology, imaging_kinds: frozenset[str]) -> list[str]:
    """One line per rule that cites a source arguing against its own advice, and per advice or
    `argues_against` name that the other side does not know."""
    declared = sources.get("advice", {})
    problems = [f"cards/sources.yaml: advice.{name}: the library cannot read this advice from a card (known: "
                f"{', '.join(sorted(ADVICE))})" for name in declared if name not in ADVICE]
    for name, source in sources["sources"].items():
        for i, advice in enumerate(source.get("argues_against", [])):
            if advice not in declared:
                problems.append(f"cards/sources.yaml: sources.{name}.argues_against[{i}]: unknown advice '{advice}'")

    def imaging(codings: list) -> bool:
        return bool(terminology.concepts_in(codings) & imaging_kinds)

    for rule in rules:
        gives = {name for name in declared if name in ADVICE and ADVICE[name](rule, orders, imaging, imaging_kinds)}
        for i, cited in enumerate(rule.sources):
            against = gives & set(sources["sources"][cited].get("argues_against", []))
            if against:
                problems.append(f"{rule.file}: {rule.id}: card.sources[{i}]: '{cited}' argues against what the card "
                                f"advises ({', '.join(sorted(against))}); cite a source that supports it")
    return problems
