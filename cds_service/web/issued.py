"""What the feedback store records of a hook call beside its cards, for analytics per rule, user
and patient count: the rule that made each card (read back by library/card_rules.py), the user
(context.userId) and a keyed hash of the patient under the card-id key, never the patient's id."""
from __future__ import annotations

from typing import Any, Iterable

from flask import current_app

from ..core.cardids import CardIds
from ..library.card_rules import CardRules
from ..library.loader import Library
from ..storage.interface import IssuedCall


def _card_rules(library: Library) -> CardRules:
    """One CardRules per library loaded (dev mode reloads the library on edit)."""
    cached = current_app.extensions.get("nerve_cds.card_rules")
    if cached is None or cached[0] is not library:
        cached = (library, CardRules(library))
        current_app.extensions["nerve_cds.card_rules"] = cached
    return cached[1]


def issued_call(library: Library, hook: str, cards: Iterable[dict[str, Any]], client: str, user: str,
                patient: str, card_ids: CardIds) -> IssuedCall:
    told = _card_rules(library)
    rules = {str(card.get("uuid")): rule for card in cards if (rule := told.rule_of(hook, card)) is not None}
    return IssuedCall(rules, user, card_ids.patient(client, patient) if patient else None)
