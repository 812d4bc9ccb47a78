"""The card library's words for the feedback report, with override reasons per rule: rules of one
topic may offer the same reason code with displays of their own, so once a card's rule is known
its reason reads as that rule's card offered it."""
from __future__ import annotations

from ..engine.vocabulary import LibraryVocabulary
from ..library.loader import Library


class CardWords(LibraryVocabulary):
    def __init__(self, library: Library) -> None:
        super().__init__(library)
        system = library.presentation.override_system
        self._by_rule = {(rule.id, system, r["code"]): r["display"] for rule in library.rules for r in rule.override_reasons}

    def rule_reason(self, rule: str, system: str, code: str) -> str | None:
        return self._by_rule.get((rule, system, code))
