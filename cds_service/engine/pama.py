"""The argonaut "CDS Hooks for PAMA" rating of imaging drafts, returned as systemActions (opt-in).

Each imaging draft under advice gets the rating of the first fired rule that is about it;
drafts no rule judged are "no-criteria-apply".
"""
from __future__ import annotations

from typing import Any, Iterable

from .drafts import Draft
from .rules import Fired

RATING_EXTENSION = "http://fhir.org/argonaut/Extension/pama-rating"
RATING_SYSTEM = "http://fhir.org/argonaut/CodeSystem/pama-rating"
DISPLAYS = {"appropriate": "Appropriate", "not-appropriate": "Not appropriate", "no-criteria-apply": "No criteria apply"}


def rating_actions(drafts: Iterable[Draft], fired: Iterable[Fired], imaging_kinds: frozenset[str],
                   patient_id: str) -> list[dict[str, Any]]:
    ratings: dict[str, str] = {}
    for item in fired:
        if item.rule.pama_rating:
            for fact in item.facts:
                if isinstance(fact, Draft):
                    ratings.setdefault(fact.reference, item.rule.pama_rating)
    actions = []
    for draft in drafts:
        if not draft.considered or not draft.kinds & imaging_kinds:
            continue
        rating = ratings.get(draft.reference, "no-criteria-apply")
        resource = draft.valid_copy(patient_id)
        others = [e for e in resource.get("extension", []) if e.get("url") != RATING_EXTENSION]
        resource["extension"] = others + [{"url": RATING_EXTENSION, "valueCodeableConcept": {
            "coding": [{"system": RATING_SYSTEM, "code": rating, "display": DISPLAYS[rating]}]}}]
        actions.append({"type": "update", "description": f"Record the PAMA appropriateness rating: {DISPLAYS[rating]}",
                        "resource": resource})
    return actions
