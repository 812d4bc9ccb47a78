"""A scenario's signed-off expectations (fixtures/fhir/<id>/expected.yaml) read as a contract.

A clinician signed off which cards each scenario must give (topic and indicator, and for order
hooks the first suggestion's actions) and which it must not. A candidate library that breaks one
is a different finding from one that merely changes cards, so the preview reports it first.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

NOT_FIRED = "not fired"


@dataclass(frozen=True)
class Broken:
    """One signed-off expectation a run does not meet: what was expected and what came instead."""

    case: str
    topic: str
    expected: str
    got: str


def _shown(card: Mapping[str, Any] | None, with_actions: bool) -> str:
    if card is None:
        return NOT_FIRED
    if not with_actions:
        return card["indicator"]
    suggestions = card.get("suggestions") or [{}]
    actions = [a["type"] for a in suggestions[0].get("actions", [])]
    return f"{card['indicator']} with actions {', '.join(actions) or '(none)'}"


def broken_expectations(case: str, expected: Mapping[str, Any], cards: Sequence[Mapping[str, Any]]) -> list[Broken]:
    """Every item of `expected` (fire / must_not_fire) that `cards` do not meet, in file order."""
    fired = {c["source"]["topic"]["code"]: c for c in cards}
    out = []
    for item in expected.get("fire") or []:
        actions = item.get("actions")
        want = item["indicator"] if actions is None else f"{item['indicator']} with actions {', '.join(actions)}"
        got = _shown(fired.get(item["topic"]), actions is not None)
        if got != want:
            out.append(Broken(case, item["topic"], want, got))
    for topic in expected.get("must_not_fire") or []:
        if topic in fired:
            out.append(Broken(case, topic, NOT_FIRED, fired[topic]["indicator"]))
    return out
