"""The hooks this service answers, declared once.

Adding a hook is an entry here (its context model and how its draft orders are read), a service
for it in cards/services.yaml, and rules that name it. Everything else (request parsing, the
library's checks, draft reading, the invoke tool) reads this table.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .contexts import HookContext, OrderSelectContext, OrderSignContext, PatientViewContext


@dataclass(frozen=True)
class Hook:
    name: str
    context: type[HookContext]
    # Which of context.draftOrders the advice is about: none (no drafts), the `selections`, or all.
    drafts: Literal["none", "selected", "all"] = "none"
    # Rules in cards/rules/ that name no hooks run on this one.
    rules_by_default: bool = False


HOOKS: dict[str, Hook] = {hook.name: hook for hook in (
    Hook("patient-view", PatientViewContext, rules_by_default=True),
    Hook("order-select", OrderSelectContext, drafts="selected"),
    Hook("order-sign", OrderSignContext, drafts="all"),
)}

DEFAULT_RULE_HOOKS = tuple(name for name, hook in HOOKS.items() if hook.rules_by_default)
