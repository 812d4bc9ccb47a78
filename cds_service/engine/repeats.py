"""No card suggests again an imaging study done lately (CLINICAL §6.9(b)), whichever rule fired.

A create-suggestion for imaging of a modality and region (a study kind with a window in
cards/context.yaml `repeats`) is dropped when a study of that kind was done within its window
(a whole-spine MRI is one study per region, so it covers each); the card then says what was done
and when. An update of a drafted repeat (on order hooks, e.g. "make it stat") is left in place,
since removing what a red-flag card asks of an order is not this module's call, but the card says
"<study> done on <date>" all the same. A finding of the override list documented after the study (a new red flag, a new or
worse deficit) keeps the suggestion: something changed since. Open orders are the rules' business
(`open_within`), and a study without a date cannot be shown to be recent.
"""
from __future__ import annotations

from datetime import date
from typing import Any

from ..library.context import RepeatPolicy
from ..library.terminology import Terminology
from .findings import Study
from .predicates import Context


def drop_repeats(cards: list[dict[str, Any]], ctx: Context, policy: RepeatPolicy, terminology: Terminology) -> None:
    """Remove, in place, every imaging create-action a recent study of its kind already answers, and
    say so on its card (as on a card updating a draft of that kind)."""
    recent = _recent(ctx, policy)
    if not recent:
        return
    for card in cards:
        notes: list[str] = []
        for suggestion in card.get("suggestions", []):
            kept = []
            for action in suggestion["actions"]:
                done = _answered_by(action, recent, terminology)
                if done is not None:
                    title = terminology.valuesets[done.kind].title
                    notes.append(policy.remark.format(study=title, date=done.when.isoformat() if done.when else ""))
                if done is None or action["type"] == "update":  # a draft's own update stays, with the line
                    kept.append(action)
            suggestion["actions"] = kept
        if notes:
            card["suggestions"] = [s for s in card["suggestions"] if s["actions"]]
            if not card["suggestions"]:
                del card["suggestions"]
                card.pop("selectionBehavior", None)
            card["detail"] = "\n\n".join([card["detail"], *dict.fromkeys(notes)])  # before its evidence (render.finish)


def _recent(ctx: Context, policy: RepeatPolicy) -> dict[str, Study]:
    """Study kind -> its latest done study within the kind's window, with nothing new since."""
    today = ctx.findings.today
    latest: dict[str, Study] = {}
    for study in ctx.findings.studies:
        setting = policy.windows.get(study.kind)
        if setting is None or study.state != "done" or study.when is None:
            continue
        if (today - study.when).days > ctx.settings[setting]:
            continue
        if study.kind not in latest or study.when > (latest[study.kind].when or date.min):
            latest[study.kind] = study
    return {kind: study for kind, study in latest.items() if not _new_since(ctx, policy, study)}


def _new_since(ctx: Context, policy: RepeatPolicy, study: Study) -> bool:
    for name in policy.override:
        found = ctx.findings.get(name)
        if found is not None and found.present and found.latest is not None and study.when is not None \
                and found.latest > study.when:
            return True
    return False


def _answered_by(action: dict[str, Any], recent: dict[str, Study], terminology: Terminology) -> Study | None:
    if action["type"] not in ("create", "update"):
        return None
    kinds = sorted(terminology.concepts_in(action["resource"]["code"]["coding"]) & recent.keys())
    return recent[kinds[0]] if kinds else None
