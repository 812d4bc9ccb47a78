"""The card library's words for what the feedback store keeps as ids and codes: an accepted
suggestion's uuid back to its label (its uuid is derived from the card's uuid and the suggestion's
order or label, render.suggestion_uuid), an override reason's code to the display the card offered,
a topic to its rules, a service to its hook. The feedback report reads it through the workbench's
CardWords (workbench/words.py), which adds the per-rule words storage.analytics.Vocabulary asks for."""
from __future__ import annotations

from typing import Any, Mapping

from ..library.loader import Library
from .render import suggestion_uuid


class LibraryVocabulary:
    def __init__(self, library: Library) -> None:
        self._library = library
        self._rules: dict[str, list[str]] = {}
        self._suggestions: dict[str, dict[str, Mapping[str, Any]]] = {}  # topic -> key (order or label) -> spec
        self._reasons: dict[str, dict[tuple[str, str], str]] = {}
        system = library.presentation.override_system
        for rule in library.rules:
            self._rules.setdefault(rule.topic, []).append(rule.id)
            specs = self._suggestions.setdefault(rule.topic, {})
            for text in (rule.text, *(v.text for v in rule.variants)):
                for spec in text.suggestions:
                    specs.setdefault(spec.get("order") or spec.get("label") or "", spec)
            reasons = self._reasons.setdefault(rule.topic, {})
            reasons.update({(system, r["code"]): r["display"] for r in rule.override_reasons})

    def rules(self, topic: str) -> list[str]:
        return list(self._rules.get(topic, []))

    def hook(self, service_id: str) -> str | None:
        service = self._library.service(service_id)
        return service.hook if service else None

    def suggestion(self, topic: str, card: str, suggestion: str) -> str | None:
        for spec in self._suggestions.get(topic, {}).values():
            if suggestion_uuid(card, spec) == suggestion:
                return self._label(spec)
        return None

    def reason(self, topic: str, system: str, code: str) -> str | None:
        return self._reasons.get(topic, {}).get((system, code))

    def _label(self, spec: Mapping[str, Any]) -> str:
        """The label as the card showed it, bar placeholders filled from the record (kept as written)."""
        label = spec.get("label") or self._library.presentation.orders[spec["order"]]["label"]
        try:
            return str(label).format_map(self._library.presentation.setting_texts)
        except (KeyError, IndexError, ValueError):
            return str(label)
