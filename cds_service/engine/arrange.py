"""The response as a whole (CLINICAL §6.12): most urgent cards first, no routine card beside a
critical one, and each imaging study ordered once.

Imaging create-suggestions are grouped by study kind (modality and region; a whole-spine order is
one request per region, so it covers each region's group). The order stays on the highest-tier
card, at the most urgent priority of the group and with contrast if any card asked for it; the
other cards lose their copy and say where the order is.
"""
from __future__ import annotations

from typing import Any, Sequence

from ..library.context import OrderPolicy
from ..library.terminology import Terminology
from .rules import Fired
from .scope import PRIORITY_RANK

TIER = {"critical": 2, "warning": 1, "info": 0}


def arrange(fired: Sequence[Fired], cards: list[dict[str, Any]], policy: OrderPolicy,
            terminology: Terminology) -> list[dict[str, Any]]:
    """`cards` rendered from `fired` (the rules that show a card), in the same order."""
    pairs = list(zip(fired, cards, strict=True))
    if any(card["indicator"] == "critical" for card in cards):
        pairs = [(f, c) for f, c in pairs if not f.rule.routine]
    ordered = [c for _, c in sorted(pairs, key=lambda p: -TIER[p[1]["indicator"]])]  # stable: rule priority within a tier
    _one_order_per_study(ordered, policy, terminology)
    return ordered


def _one_order_per_study(cards: list[dict[str, Any]], policy: OrderPolicy, terminology: Terminology) -> None:
    claimed: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}  # study kind -> (kept ServiceRequest, its card)
    for card in cards:
        notes: list[str] = []
        for suggestion in card.get("suggestions", []):
            kept = []
            for action in suggestion["actions"]:
                kind = _study(action, policy, terminology)
                owner = claimed.get(kind) if kind else None
                if kind and owner is None:
                    claimed[kind] = (action["resource"], card)
                if owner is None or owner[1] is card:
                    kept.append(action)
                    continue
                keeper, on_card = owner
                _merge(keeper, action["resource"], policy, terminology)
                notes.append(policy.merged_remark.format(study=keeper["code"]["text"], card=on_card["source"]["topic"]["display"]))
            suggestion["actions"] = kept
        if notes:
            card["suggestions"] = [s for s in card["suggestions"] if s["actions"]]
            if not card["suggestions"]:
                del card["suggestions"], card["selectionBehavior"]
            card["detail"] = "\n\n".join([card["detail"], *dict.fromkeys(notes)])  # before its evidence (render.finish)


def _study(action: dict[str, Any], policy: OrderPolicy, terminology: Terminology) -> str | None:
    if action["type"] != "create":
        return None
    kinds = sorted(terminology.concepts_in(action["resource"]["code"]["coding"]) & policy.imaging_kinds)
    return kinds[0] if kinds else None


def _merge(keeper: dict[str, Any], other: dict[str, Any], policy: OrderPolicy, terminology: Terminology) -> None:
    """The kept order takes the more urgent priority and, if the other gives contrast, its study."""
    if PRIORITY_RANK.get(other.get("priority", "routine"), 0) > PRIORITY_RANK.get(keeper.get("priority", "routine"), 0):
        keeper["priority"] = other["priority"]

    def contrast(resource: dict[str, Any]) -> bool:
        return bool(terminology.concepts_in(resource["code"]["coding"]) & policy.contrast)

    if contrast(other) and not contrast(keeper):
        keeper["code"] = other["code"]
