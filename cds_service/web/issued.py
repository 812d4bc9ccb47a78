"""What the feedback store records of a hook call beside its cards, for analytics per rule, user
and patient count: the rule that made each card (as the engine says, Advice.card_rules), the user
(context.userId) and a keyed hash of the patient under the card-id key, never the patient's id."""
from __future__ import annotations

from typing import Mapping

from ..core.cardids import CardIds
from ..storage.interface import IssuedCall


def issued_call(card_rules: Mapping[str, str], client: str, user: str, patient: str, card_ids: CardIds) -> IssuedCall:
    return IssuedCall(dict(card_rules), user, card_ids.patient(client, patient) if patient else None)
