"""Who a rule speaks about, and which drafts no card may take away (CLINICAL §6.0, §6.6, §6.14).

A rule declares its population in cards/rules (minimum age, whether it holds in pregnancy); the
engine does not run it for a patient outside. An unknown age is read as adult for scope, but the
imaging drafts of such a patient, like a child's, are never removed, replaced or downgraded.
"""
from __future__ import annotations

from ..library.context import OrderPolicy
from ..library.rules import Rule
from .drafts import Draft
from .predicates import Context

# FHIR request-priority codes, least to most urgent
PRIORITY_RANK = {"routine": 0, "urgent": 1, "asap": 2, "stat": 3}


def in_scope(rule: Rule, ctx: Context) -> bool:
    age = ctx.findings.age_years
    if rule.min_age and age is not None and age < ctx.settings[rule.min_age]:
        return False
    return rule.in_pregnancy or not ctx.pregnancy.pregnant


def protected(draft: Draft, ctx: Context, policy: OrderPolicy) -> bool:
    """No card may suggest removing, replacing or downgrading this draft."""
    if draft.priority in policy.protected_priorities:
        return True
    if draft.kinds & policy.imaging_kinds:
        age = ctx.findings.age_years
        return age is None or age < ctx.settings[policy.imaging_protected_below_age]
    return False
