"""Condition kinds that relate a finding to a procedure's date or count the limbs it worsened in.

§6.14: early after spinal surgery fever and a raised CRP are expected, so they count only when
measured later than a window after the operation (`later_than_study`). §6.3: rapidly progressive
weakness is documented worsening in two or more limbs within a window (`progressive_limbs`).
Registered into the rule language by engine/predicates.py.
"""
from __future__ import annotations

from typing import Any, Mapping

from .predicates import Context, Result, _days_since, _present, _studies, predicate


@predicate("later_than_study")
def _p_later_than_study(arg: Mapping[str, Any], ctx: Context) -> Result:
    """Present and last documented more than `days` after the latest done study of these kinds
    (e.g. a fever beyond the first post-operative days); with no such study, simply present."""
    done = [s.when for s in _studies(ctx, {"kinds": arg["kinds"], "state": "done"}) if s.when]
    days = ctx.settings[arg["days"]]
    if not done:
        found = _present(ctx, arg["findings"])
        return bool(found), found
    last = max(done)
    found = [f for f in _present(ctx, arg["findings"]) if f.latest and (f.latest - last).days > days]
    return bool(found), found


@predicate("progressive_limbs")
def _p_progressive_limbs(arg: Mapping[str, Any], ctx: Context) -> Result:
    """Documented worsening (a worse grade, or a progression marker) begun within `days`, in at
    least `count` limbs: each finding names a region (arm, leg) and each side it worsened on is a
    limb; a worsening with no side is one limb. Undated worsening counts (red flag: unknown is new)."""
    days = ctx.settings[arg["days"]]
    limbs, found = 0, []
    for finding in _present(ctx, arg["findings"]):
        recent = [sides for sides, since in finding.worsened if since is None or _days_since(ctx, since) <= days]
        if recent:
            found.append(finding)
            limbs += max(1, len(frozenset().union(*recent)))
    return limbs >= arg["count"], found if limbs >= arg["count"] else []
