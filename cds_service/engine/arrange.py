"""The response as a whole (CLINICAL §6.12): most urgent cards first, no routine card beside a
critical one, and each imaging study ordered once.

Imaging create-suggestions are grouped by study kind (modality and region). A suggestion of several
regions (a whole-spine order, one request per region) is one study, so every suggestion that shares
a region with it joins its group. Each group becomes one order, in one suggestion, on the
highest-tier card holding part of it; of equal tiers, the suggestion with the most regions, so a
whole-spine order is never split over two cards. That order images every region of the group, at
the most urgent priority of the group, and with contrast for every MRI region if any merged reason
asked for contrast (its label then says so). The other cards lose their part and say where the
order is.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import AbstractSet, Any, Iterable, Mapping, Sequence, TypeVar

from ..library.context import OrderPolicy
from ..library.terminology import Terminology
from .rules import Fired
from .scope import PRIORITY_RANK

T = TypeVar("T")
TIER = {"critical": 2, "warning": 1, "info": 0}


def arrange(fired: Sequence[Fired], cards: list[dict[str, Any]], policy: OrderPolicy,
            terminology: Terminology, orders: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """`cards` rendered from `fired` (the rules that show a card), in the same order; `orders` are
    the library's orders (cards/orders.yaml), where the contrast study of each region is found."""
    pairs = [(f, c) for f, c, kept in zip(fired, cards, beside_critical(fired), strict=True) if kept]
    ordered = [c for _, c in sorted(pairs, key=lambda p: -TIER[p[1]["indicator"]])]  # stable: rule priority within a tier
    _one_order_per_study(ordered, policy, terminology, orders)
    return ordered


def beside_critical(fired: Sequence[Fired]) -> list[bool]:
    """Per card, whether the response keeps it: no routine card beside a critical one."""
    critical = any(f.indicator == "critical" for f in fired)
    return [not (critical and f.rule.routine) for f in fired]


def study_groups(items: Iterable[tuple[AbstractSet[str], T]]) -> list[list[T]]:
    """Items (each with its study kinds) joined while they share a study kind, so a whole-spine
    order joins each region's; within a group, in the order given."""
    groups: list[tuple[set[str], list[tuple[int, T]]]] = []
    for n, (kinds, item) in enumerate(items):
        joined = [g for g in groups if g[0] & kinds]
        groups = [g for g in groups if not any(g is j for j in joined)]
        members = sorted([m for g in joined for m in g[1]] + [(n, item)], key=lambda m: m[0])
        groups.append((set(kinds).union(*(g[0] for g in joined)), members))
    return [[item for _, item in members] for _, members in groups]


@dataclass
class _Part:
    """One suggestion's imaging: study kind -> its create action."""
    rank: int  # position in the response
    card: dict[str, Any]
    suggestion: dict[str, Any]
    actions: dict[str, dict[str, Any]]


def _one_order_per_study(cards: list[dict[str, Any]], policy: OrderPolicy, terminology: Terminology,
                         orders: Mapping[str, Mapping[str, Any]]) -> None:
    notes: dict[int, list[str]] = {}  # id(card) -> where its imaging went
    for group in _groups(cards, policy, terminology):
        keeper = min(group, key=lambda p: (-TIER[p.card["indicator"]], -len(p.actions), p.rank))
        merged = [p for p in group if p.card is not keeper.card]
        if not merged:
            continue
        _take(keeper, merged, policy, terminology, orders)
        remark = policy.merged_remark.format(study=keeper.suggestion["label"], card=keeper.card["source"]["topic"]["display"])
        for part in merged:
            gone = [id(a) for a in part.actions.values()]
            part.suggestion["actions"] = [a for a in part.suggestion["actions"] if id(a) not in gone]
            notes.setdefault(id(part.card), []).append(remark)
    for card in cards:
        if id(card) not in notes:
            continue
        card["suggestions"] = [s for s in card["suggestions"] if s["actions"]]
        if not card["suggestions"]:
            del card["suggestions"], card["selectionBehavior"]
        card["detail"] = "\n\n".join([card["detail"], *dict.fromkeys(notes[id(card)])])  # before its evidence (render.finish)


def _groups(cards: list[dict[str, Any]], policy: OrderPolicy, terminology: Terminology) -> list[list[_Part]]:
    """The imaging suggestions of the response, joined by study kind (study_groups)."""
    parts: list[tuple[AbstractSet[str], _Part]] = []
    for card in cards:
        for suggestion in card.get("suggestions", []):
            actions: dict[str, dict[str, Any]] = {}
            for action in suggestion["actions"]:
                kind = _study(action, policy, terminology)
                if kind:
                    actions.setdefault(kind, action)
            if actions:
                parts.append((actions.keys(), _Part(len(parts), card, suggestion, actions)))
    return study_groups(parts)


def _take(keeper: _Part, merged: list[_Part], policy: OrderPolicy, terminology: Terminology,
          orders: Mapping[str, Mapping[str, Any]]) -> None:
    """The keeper becomes the group's one order: every region, the most urgent priority, contrast if any asked."""
    every = [keeper, *merged]
    widest = min(every, key=lambda p: (-len(p.actions), p.rank))
    gained = False
    for part in merged:
        for kind, action in part.actions.items():
            if kind not in keeper.actions:
                keeper.actions[kind] = copy.deepcopy(action)
                keeper.suggestion["actions"].append(keeper.actions[kind])
                gained = True
    if gained:  # the keeper now orders what the widest suggestion named (e.g. the whole spine)
        keeper.suggestion["label"] = widest.suggestion["label"]
    priority = max((a["resource"].get("priority", "routine") for p in every for a in p.actions.values()),
                   key=lambda p: PRIORITY_RANK.get(p, 0))
    for action in keeper.actions.values():
        action["resource"]["priority"] = priority

    def contrast(action: dict[str, Any]) -> bool:
        return bool(terminology.concepts_in(action["resource"]["code"]["coding"]) & policy.contrast)

    if not any(contrast(a) for p in every for a in p.actions.values()):
        return
    studies = {kind: a["resource"]["code"] for p in every for kind, a in p.actions.items() if contrast(a)}
    for request in orders[policy.contrast_studies]["requests"]:
        for kind in terminology.concepts_in(request["code"]) & policy.imaging_kinds:
            studies.setdefault(kind, {"coding": [dict(c) for c in request["code"]], "text": request["text"]})
    changed = False
    for kind, action in keeper.actions.items():
        if not contrast(action) and kind in studies:
            action["resource"]["code"] = copy.deepcopy(studies[kind])
            action["description"] = studies[kind]["text"]
            changed = True
    if changed:
        for words, instead in policy.contrast_wording.items():
            keeper.suggestion["label"] = keeper.suggestion["label"].replace(words, instead)


def _study(action: dict[str, Any], policy: OrderPolicy, terminology: Terminology) -> str | None:
    if action["type"] != "create":
        return None
    kinds = sorted(terminology.concepts_in(action["resource"]["code"]["coding"]) & policy.imaging_kinds)
    return kinds[0] if kinds else None
