"""A sign that a known lesion on the same side already explains (CLINICAL §6.11).

Upper motor neuron signs on the side of an old stroke, a hemiplegia or a brain tumour are the
lesion's own, not a new cord problem, when they are one-sided, not worse, and not newer than the
lesion: first recorded no later than a window after the lesion, or (first documentation is not
onset) recorded unchanged for a long time with no normal record of the sign since the lesion.
Anything less certain counts (the safe reading): both sides, the other side, no side recorded, an
undated sign or lesion, a worsening, a sign that appeared after a normal record, or a recent sign
first recorded long after the lesion. Registered into the rule language by engine/predicates.py.
"""
from __future__ import annotations

from datetime import date
from typing import Any, Mapping

from .findings import Finding
from .predicates import Context, Result, _present, predicate


@predicate("unexplained_sign")
def _p_unexplained_sign(arg: Mapping[str, Any], ctx: Context) -> Result:
    """Present and not explained by a lesion (`by`) on its side: first recorded within `days` of the
    lesion, or, with `stable_days`, long-standing (first recorded at least that long ago) and never
    normal since the lesion."""
    days = ctx.settings[arg["days"]]
    stable = ctx.settings[arg["stable_days"]] if "stable_days" in arg else None
    lesions = _present(ctx, arg["by"])
    found = [sign for sign in _present(ctx, arg["findings"])
             if not any(_explains(lesion, sign, days, stable, ctx.findings.today) for lesion in lesions)]
    return bool(found), found


def _explains(lesion: Finding, sign: Finding, days: float, stable: float | None, today: date) -> bool:
    if sign.progressive or len(sign.sides) != 1 or lesion.sides != sign.sides:
        return False
    if sign.onset is None or lesion.onset is None:
        return False
    if (sign.onset - lesion.onset).days <= days:
        return True
    return stable is not None and (today - sign.onset).days >= stable and not _normal_since(sign, lesion.onset)


def _normal_since(sign: Finding, since: date) -> bool:
    """A normal (negative) record of the sign after the lesion: the sign is newer than the lesion."""
    return any(not ev.positive and (ev.when is None or ev.when >= since) for ev in sign.evidence)
