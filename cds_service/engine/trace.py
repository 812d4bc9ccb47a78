"""What one engine run decided, recorded as it ran (explain mode): per rule its outcome, per
condition of its `when` tree whether it held and on which facts.

Only the walkers in predicates.py and rules.py write these; explain.py turns them into the
report the workbench and `nerve-cds explain` show.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

FIRED, NOT_FIRED, SUPPRESSED, OUT_OF_SCOPE = "fired", "not fired", "suppressed", "out of scope"
SHADOW = "shadow"  # fired, but the rule's status is shadow: its card is reported, never returned (§6.14)
WITHHELD = "withheld"  # fired, but a routine card is not shown beside a critical one (engine/arrange.py)


@dataclass(frozen=True)
class NodeTrace:
    kind: str  # all / any / not, or a predicate of the rule language
    arg: Any  # the node's argument as written in cards/rules/
    held: bool
    facts: tuple[Any, ...]
    children: tuple["NodeTrace", ...] = ()


@dataclass(frozen=True)
class RuleTrace:
    rule_id: str
    topic: str
    outcome: str  # FIRED, SHADOW, NOT_FIRED, SUPPRESSED or OUT_OF_SCOPE (the patient is outside the rule's population)
    silent: bool = False
    suppressed_by: str | None = None  # the rule whose card suppressed this topic
    when: NodeTrace | None = None
    indicator: str | None = None
    escalations: tuple[tuple[Mapping[str, Any], NodeTrace], ...] = ()  # tried in order, last one held if any did
    variants: tuple[tuple[Mapping[str, Any], NodeTrace], ...] = ()
    would_fire: bool | None = None  # SUPPRESSED only: whether its conditions held (explain mode)
