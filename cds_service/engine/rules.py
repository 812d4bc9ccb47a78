"""Rules evaluated per request, in priority order.

A rule whose patient is outside its population (engine/scope.py) or whose topic an earlier rule
suppressed does not run (CES-1 silences conservative care,
routine imaging and EDX; MND-1 the benign-twitch card), and a later rule can ask which topics
already fired. A rule whose status is shadow (§6.14) is evaluated like the others, but what it
would fire goes to the `shadow` list only: it neither shows a card nor silences another topic.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from ..library.rules import CardText, Rule
from .predicates import Context, Fact, Result
from .scope import in_scope
from .trace import FIRED, NOT_FIRED, OUT_OF_SCOPE, SHADOW, SUPPRESSED, NodeTrace, RuleTrace
from .when import compiled, evaluate


@dataclass(frozen=True)
class Fired:
    rule: Rule
    indicator: str
    text: CardText
    facts: tuple[Fact, ...]


def _run(when: Mapping[str, Any], ctx: Context, trace: list[NodeTrace] | None) -> Result:
    """The compiled tree, or in explain mode the walk that records each node."""
    return compiled(when)(ctx) if trace is None else evaluate(when, ctx, trace)


def evaluate_rules(rules: Sequence[Rule], hook: str, ctx: Context, trace: list[RuleTrace] | None = None,
                   shadow: list[Fired] | None = None) -> list[Fired]:
    """The rules of `hook` that fire; with a `trace` list, every rule of the hook's outcome too;
    with a `shadow` list, what the shadow-status rules would have fired."""
    fired: list[Fired] = []
    suppressed: dict[str, str] = {}  # topic -> the rule that silenced it
    for rule in rules:  # already sorted by priority
        if hook not in rule.hooks:
            continue
        if rule.topic in suppressed or rule.topic in ctx.fired:
            if trace is not None:
                by = suppressed.get(rule.topic) or next((f.rule.id for f in fired if f.rule.topic == rule.topic), "")
                trace.append(_suppressed(rule, ctx, by))
            continue
        if not in_scope(rule, ctx):  # its guideline does not speak about this patient (§6.0)
            if trace is not None:
                trace.append(RuleTrace(rule.id, rule.topic, OUT_OF_SCOPE, rule.silent))
            continue
        nodes: list[NodeTrace] | None = None if trace is None else []
        ok, facts = _run(rule.when, ctx, nodes)
        if not ok:
            if trace is not None and nodes is not None:
                trace.append(RuleTrace(rule.id, rule.topic, NOT_FIRED, rule.silent, when=nodes[0]))
            continue
        indicator = rule.indicator
        tried: list[NodeTrace] | None = None if trace is None else []
        for when, escalated in rule.escalate:
            hit, more = _run(when, ctx, tried)
            if hit:
                indicator, facts = escalated, [*facts, *more]
                break
        text = rule.text
        chosen: list[NodeTrace] | None = None if trace is None else []
        for variant in rule.variants:
            hit, more = _run(variant.when, ctx, chosen)
            if hit:
                text, facts = variant.text, [*facts, *more]
                break
        text = _offered(text, ctx)
        would = Fired(rule, indicator, text, tuple(_unique(facts)))
        if trace is not None and nodes and tried is not None and chosen is not None:
            trace.append(RuleTrace(
                rule.id, rule.topic, SHADOW if rule.status == "shadow" else FIRED, rule.silent,
                when=nodes[0], indicator=indicator,
                escalations=tuple(zip((w for w, _ in rule.escalate), tried)),
                variants=tuple(zip((v.when for v in rule.variants), chosen)),
            ))
        if rule.status == "shadow":
            if shadow is not None:
                shadow.append(would)
            continue
        fired.append(would)
        if not rule.silent:
            ctx.fired.add(rule.topic)
            for topic in rule.suppresses:
                suppressed.setdefault(topic, rule.id)
    return fired


def _suppressed(rule: Rule, ctx: Context, by: str) -> RuleTrace:
    """Explain mode only: whether a suppressed rule would have fired, its conditions evaluated for
    the trace alone (the cards never depend on it)."""
    if not in_scope(rule, ctx):
        return RuleTrace(rule.id, rule.topic, SUPPRESSED, rule.silent, suppressed_by=by, would_fire=False)
    nodes: list[NodeTrace] = []
    ok, _ = evaluate(rule.when, ctx, nodes)
    return RuleTrace(rule.id, rule.topic, SUPPRESSED, rule.silent, suppressed_by=by, when=nodes[0], would_fire=ok)


def _offered(text: CardText, ctx: Context) -> CardText:
    """Drop the suggestions whose own `when` does not hold (one card, the suggestions that apply)."""
    kept = tuple(s for s in text.suggestions if "when" not in s or evaluate(s["when"], ctx)[0])
    return text if len(kept) == len(text.suggestions) else CardText(text.summary, text.detail, kept)


def _unique(facts: Sequence[Fact]) -> list[Fact]:
    seen, out = set(), []
    for fact in facts:
        if id(fact) not in seen:
            seen.add(id(fact))
            out.append(fact)
    return out


