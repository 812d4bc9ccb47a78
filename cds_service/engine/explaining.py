"""A sign that a known lesion on the same side already explains (CLINICAL §6.11).

Upper motor neuron signs on the side of an old stroke, a hemiplegia or a brain tumour are the
lesion's own, not a new cord problem, when they are one-sided, not worse, and first recorded no
later than a window after the lesion. Anything less certain counts (the safe reading): both sides,
the other side, no side recorded, an undated sign or lesion, a worsening, or a sign newer than the
lesion. Registered into the rule language by engine/predicates.py.
"""
from __future__ import annotations

from typing import Any, Mapping

from .findings import Finding
from .predicates import Context, Result, _present, predicate


@predicate("unexplained_sign")
def _p_unexplained_sign(arg: Mapping[str, Any], ctx: Context) -> Result:
    """Present and not explained by a lesion (`by`) on its side within `days` of the lesion."""
    days = ctx.settings[arg["days"]]
    lesions = _present(ctx, arg["by"])
    found = [sign for sign in _present(ctx, arg["findings"]) if not any(_explains(lesion, sign, days) for lesion in lesions)]
    return bool(found), found


def _explains(lesion: Finding, sign: Finding, days: float) -> bool:
    if sign.progressive or len(sign.sides) != 1 or lesion.sides != sign.sides:
        return False
    if sign.onset is None or lesion.onset is None:
        return False
    return (sign.onset - lesion.onset).days <= days
