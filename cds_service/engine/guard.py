"""What no card may suggest, whichever rule fired (CLINICAL §6.6, §6.7, §6.14).

- Removing or replacing a protected draft (urgent, asap or stat; imaging for a child or a patient of
  unknown age), or lowering its priority: the suggestion loses that part; a routine card that lost
  one becomes an info remark saying why.
- In pregnancy, a contrast MRI: the same study without contrast is suggested instead (and a summary
  promising contrast says so), a drafted contrast MRI a card updates is switched to the same region
  without contrast, and every card suggesting imaging says how imaging goes in pregnancy.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any, Mapping

from ..core import fhirjson
from ..library.context import ContextDefs
from ..library.presentation import Presentation
from ..library.rules import CardText
from ..library.terminology import Terminology
from .drafts import Draft
from .predicates import Context
from .rules import Fired
from .scope import PRIORITY_RANK, protected


def guard(fired: list[Fired], ctx: Context, defs: ContextDefs, presentation: Presentation,
          terminology: Terminology) -> list[Fired]:
    out = []
    for item in fired:
        targets = [f for f in item.facts if isinstance(f, Draft) and f.considered]
        suggestions: list[Mapping[str, Any]] = []
        took_away = False
        for spec in item.text.suggestions:
            safe = _safe(spec, [d for d in targets if protected(d, ctx, defs.orders)])
            took_away = took_away or safe != spec
            if safe is not None:
                suggestions.append(safe)
        if ctx.pregnancy.pregnant:
            swap = defs.pregnancy.without_contrast
            suggestions = [{**s, "order": swap[s["order"]]} if s.get("order") in swap else s for s in suggestions]
            suggestions = [_draft_without_contrast(s, targets, ctx, defs, terminology) for s in suggestions]
        summary, detail, indicator = item.text.summary, item.text.detail, item.indicator
        if ctx.pregnancy.pregnant:
            for words, instead in defs.pregnancy.summary_wording.items():
                summary = summary.replace(words, instead)
        if took_away:
            detail += "\n\n" + defs.orders.protected_remark
            if item.rule.routine:
                indicator = "info"
        if ctx.pregnancy.pregnant and _suggests_imaging(suggestions, targets, defs.orders.imaging_kinds, presentation,
                                                        terminology):
            detail += "\n\n" + defs.pregnancy.imaging_remark
        if _implant(ctx, defs) and _suggests_imaging(suggestions, targets, defs.mr_safety.mri_kinds, presentation, terminology):
            detail += "\n\n" + defs.mr_safety.remark
        if not took_away and suggestions == list(item.text.suggestions) and (summary, detail) == (item.text.summary, item.text.detail):
            out.append(item)
            continue
        text = CardText(summary, detail, tuple(suggestions))
        out.append(replace(item, indicator=indicator, text=text))
    return out


def _safe(spec: Mapping[str, Any], guarded: list[Draft]) -> Mapping[str, Any] | None:
    """The suggestion without what it may not do to the guarded drafts; None when nothing is left."""
    if not guarded:
        return spec
    safe = dict(spec)
    safe.pop("delete_drafts", None)
    update = dict(safe.pop("update_drafts", {}))
    update.pop("code_from", None)  # a different study replaces the one ordered
    lowest = min(PRIORITY_RANK.get(d.priority, 0) for d in guarded)
    if "priority" in update and PRIORITY_RANK[update["priority"]] < lowest:
        update.pop("priority")
    if update:
        safe["update_drafts"] = update
    if safe == dict(spec):
        return spec
    if "order" in safe:
        safe.pop("label", None)  # the label said what was taken away; the order's own label is right
        return safe
    return safe if update and update == spec.get("update_drafts") else None


def _draft_without_contrast(spec: Mapping[str, Any], targets: list[Draft], ctx: Context, defs: ContextDefs,
                            terminology: Terminology) -> Mapping[str, Any]:
    """In pregnancy, an update of drafted contrast MRIs (e.g. made stat) also switches them to the same
    region without contrast (§6.7, §6.12), when they are all of one region and none is protected."""
    update = spec.get("update_drafts")
    if not update or "code_from" in update or not targets:
        return spec
    if not all(terminology.concepts_in(fhirjson.codings(d.resource.get("code"))) & defs.orders.contrast
               for d in targets):
        return spec
    if any(protected(d, ctx, defs.orders) for d in targets):
        return spec
    instead = {defs.pregnancy.draft_without_contrast.get(kind) for d in targets for kind in d.kinds} - {None}
    if len(instead) != 1:
        return spec
    return {**spec, "update_drafts": {**update, "code_from": instead.pop()}}


def _suggests_imaging(suggestions: list[Mapping[str, Any]], targets: list[Draft], kinds: frozenset[str],
                      presentation: Presentation, terminology: Terminology) -> bool:
    """Whether a suggestion orders, or changes a draft of, one of these study kinds."""
    for spec in suggestions:
        order = presentation.orders.get(spec.get("order", ""))
        if order and any(terminology.concepts_in(r["code"]) & kinds for r in order["requests"]):
            return True
        if spec.get("update_drafts") and any(d.kinds & kinds for d in targets):
            return True
    return False


def _implant(ctx: Context, defs: ContextDefs) -> bool:
    """An implant status code or an implanted device in the record (§6.9(d)): MR-safety first."""
    mr = defs.mr_safety
    return (any(ctx.findings.present(name) for name in mr.implant_findings)
            or any(s.kind in mr.implant_studies and s.state == "done" for s in ctx.findings.studies))
