"""Rules evaluated per request, in priority order.

A rule whose topic an earlier rule suppressed does not run (CES-1 silences conservative care,
routine imaging and EDX; MND-1 the benign-twitch card), and a later rule can ask which topics
already fired.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from ..library.rules import CardText, Rule
from .predicates import Context, Fact, evaluate


@dataclass(frozen=True)
class Fired:
    rule: Rule
    indicator: str
    text: CardText
    facts: tuple[Fact, ...]


def evaluate_rules(rules: Sequence[Rule], hook: str, ctx: Context) -> list[Fired]:
    fired: list[Fired] = []
    suppressed: set[str] = set()
    for rule in rules:  # already sorted by priority
        if hook not in rule.hooks or rule.topic in suppressed or rule.topic in ctx.fired:
            continue
        ok, facts = evaluate(rule.when, ctx)
        if not ok:
            continue
        indicator = rule.indicator
        for when, escalated in rule.escalate:
            hit, more = evaluate(when, ctx)
            if hit:
                indicator, facts = escalated, facts + more
                break
        text = rule.text
        for variant in rule.variants:
            hit, more = evaluate(variant.when, ctx)
            if hit:
                text, facts = variant.text, facts + more
                break
        text = _offered(text, ctx)
        fired.append(Fired(rule, indicator, text, tuple(_unique(facts))))
        if not rule.silent:
            ctx.fired.add(rule.topic)
            suppressed |= rule.suppresses
    return fired


def _offered(text: CardText, ctx: Context) -> CardText:
    """Drop the suggestions whose own `when` does not hold (one card, the suggestions that apply)."""
    kept = tuple(s for s in text.suggestions if "when" not in s or evaluate(s["when"], ctx)[0])
    return text if len(kept) == len(text.suggestions) else CardText(text.summary, text.detail, kept)


def _unique(facts: list[Fact]) -> list[Fact]:
    seen, out = set(), []
    for fact in facts:
        if id(fact) not in seen:
            seen.add(id(fact))
            out.append(fact)
    return out


