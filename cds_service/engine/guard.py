"""What no card may suggest, whichever rule fired (CLINICAL §6.6, §6.7, §6.14).

- Removing or replacing a protected draft (urgent, asap or stat; imaging for a child or a patient of
  unknown age), or lowering its priority: the suggestion loses that part; a routine card that lost
  one becomes an info remark saying why.
- In pregnancy, a contrast MRI: the same study without contrast is suggested instead (and a summary
  promising contrast says so), a drafted contrast MRI a card updates is switched to the same region
  without contrast, and every card suggesting imaging says how imaging goes in pregnancy.

It also adds the remarks context gives whatever rule fired: an implant and an MRI (§6.9(d)), and
renal function and a contrast MRI (§6.2 Card: the study is kept, with a group II agent). Remarks go
after the card's advice and before its evidence (CardText.remarks).
"""
from __future__ import annotations

import re
from dataclasses import replace
from datetime import date
from typing import Any, Mapping

from ..core import fhirjson
from ..library.context import ContextDefs
from ..library.presentation import Presentation
from ..library.terminology import Terminology
from . import markdown
from .arrange import beside_critical, study_groups
from .drafts import Draft
from .predicates import Context
from .rules import Fired
from .scope import PRIORITY_RANK, protected


def guard(fired: list[Fired], ctx: Context, defs: ContextDefs, presentation: Presentation,
          terminology: Terminology) -> list[Fired]:
    kept = [_kept(item, ctx, defs, terminology) for item in fired]
    # the cards engine/arrange.py will see: no silent rule's, no routine one beside a critical card
    shows = [n for n, item in enumerate(fired) if not item.rule.silent]
    shown = [n for n, keep in zip(shows, beside_critical([fired[n] for n in shows])) if keep]
    gains_contrast = _joins_contrast({n: kept[n][1] for n in shown}, defs, presentation, terminology)
    out = []
    for n, item in enumerate(fired):
        targets, suggestions, took_away = kept[n]
        summary, indicator = item.text.summary, item.indicator
        remarks: list[str] = []
        cited: list[str] = []
        if ctx.pregnancy.pregnant:
            for words, instead in defs.pregnancy.summary_wording.items():
                summary = summary.replace(words, instead)
        if took_away:
            remarks.append(defs.orders.protected_remark)
            if item.rule.routine:
                indicator = "info"
        if ctx.pregnancy.pregnant and _suggests_imaging(suggestions, targets, defs.orders.imaging_kinds, presentation,
                                                        terminology):
            remarks.append(defs.pregnancy.imaging_remark)
        if _implant(ctx, defs) and _suggests_imaging(suggestions, targets, defs.mr_safety.mri_kinds, presentation, terminology):
            remarks.append(defs.mr_safety.remark)
        renal = _renal(ctx, defs, presentation)
        if renal and (n in gains_contrast or _suggests_contrast(suggestions, targets, defs, presentation, terminology)):
            remarks.append(defs.renal.remark.format(found=_literal(renal)))
            cited.append(defs.renal.source)
        if not took_away and suggestions == list(item.text.suggestions) and summary == item.text.summary and not remarks:
            out.append(item)
            continue
        text = replace(item.text, summary=summary, suggestions=tuple(suggestions), remarks=tuple(remarks), cited=tuple(cited))
        out.append(replace(item, indicator=indicator, text=text))
    return out


def _kept(item: Fired, ctx: Context, defs: ContextDefs,
          terminology: Terminology) -> tuple[list[Draft], list[Mapping[str, Any]], bool]:
    """The drafts a card's rule considered, its suggestions without what no card may suggest, and
    whether anything was taken away."""
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
    return targets, suggestions, took_away


def _joins_contrast(cards: Mapping[int, list[Mapping[str, Any]]], defs: ContextDefs, presentation: Presentation,
                    terminology: Terminology) -> set[int]:
    """The cards (by number, with their suggestions) with an imaging order in a study group where
    some card asks for contrast. engine/arrange.py makes each such group one order with contrast,
    on whichever card keeps it, so that card needs what renal function says about contrast."""
    orders: list[tuple[frozenset[str], tuple[int, bool]]] = []  # study kinds, (card, asks for contrast)
    for n, suggestions in cards.items():
        for spec in suggestions:
            order = presentation.orders.get(spec.get("order", ""))
            concepts = [terminology.concepts_in(r["code"]) for r in order["requests"]] if order else []
            kinds = frozenset().union(*concepts) & defs.orders.imaging_kinds
            if kinds:
                orders.append((kinds, (n, any(c & defs.renal.contrast_kinds for c in concepts))))
    return {n for group in study_groups(orders) if any(contrast for _, contrast in group) for n, _ in group}


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


def _renal(ctx: Context, defs: ContextDefs, presentation: Presentation) -> str:
    """What the record holds of the renal context (a low eGFR with its value and date, dialysis or
    CKD stage 5), as one line; empty when it holds none (§6.2 Card)."""
    held = []
    for name in sorted(defs.renal.findings):
        finding = ctx.findings.get(name)
        if not (finding and finding.present):
            continue
        label = presentation.finding_labels.get(name, name)
        latest = max((ev for ev in finding.evidence if ev.positive), key=lambda ev: ev.when or date.min, default=None)
        if latest is None:
            held.append(label)
            continue
        shown = _annotations(latest.qualifiers) or latest.display  # a measured value, else what the code says
        held.append(f"{label}: {shown} ({latest.when.isoformat() if latest.when else 'date not recorded'})")
    return "; ".join(held)


def _annotations(unit_text: str) -> str:
    """UCUM annotations as plain words: "24 mL/min/{1.73_m2}" reads "24 mL/min/1.73 m2"."""
    return re.sub(r"\{([^{}]*)\}", lambda m: m.group(1).replace("_", " "), unit_text)


def _literal(text: str) -> str:
    """Record text placed in a card text that render fills later: inline Markdown, braces kept as braces."""
    return markdown.inline(text).replace("{", "{{").replace("}", "}}")


def _suggests_contrast(suggestions: list[Mapping[str, Any]], targets: list[Draft], defs: ContextDefs,
                       presentation: Presentation, terminology: Terminology) -> bool:
    """Whether a suggestion orders a study with contrast, or changes a draft of one."""
    kinds = defs.renal.contrast_kinds
    for spec in suggestions:
        order = presentation.orders.get(spec.get("order", ""))
        if order and any(terminology.concepts_in(r["code"]) & kinds for r in order["requests"]):
            return True
        if spec.get("update_drafts") and any(terminology.concepts_in(fhirjson.codings(d.resource.get("code"))) & kinds for d in targets):
            return True
    return False
