"""The card library's words for the feedback report, with override reasons per rule: rules of one
topic may offer the same reason code with displays of their own, so once a card's rule is known
its reason reads as that rule's card offered it. Also which cards offer a suggestion at all: one
that offers none can only be overridden, so its acceptance is not measurable."""
from __future__ import annotations

from ..engine.vocabulary import LibraryVocabulary
from ..library.loader import Library


class CardWords(LibraryVocabulary):
    def __init__(self, library: Library) -> None:
        super().__init__(library)
        system = library.presentation.override_system
        self._by_rule = {(rule.id, system, r["code"]): r["display"] for rule in library.rules for r in rule.override_reasons}
        self._suggesting = {rule.id: rule.topic for rule in library.rules
                            if any(text.suggestions for text in (rule.text, *(v.text for v in rule.variants)))}

    def rule_reason(self, rule: str, system: str, code: str) -> str | None:
        return self._by_rule.get((rule, system, code))

    def accepts(self, topic: str, rule: str | None = None) -> bool:
        if rule in self._suggesting:
            return True
        if rule is not None and any(r.id == rule for r in self._library.rules):
            return False  # a rule of this library offering no suggestion
        return topic in self._suggesting.values() or topic not in {r.topic for r in self._library.rules}
