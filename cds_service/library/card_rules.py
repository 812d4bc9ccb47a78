"""Which rule made a card, read back from the card itself, so analytics can count per rule.

A card carries its topic, not its rule, and several rules share some topics (the lumbar, cervical
and thoracic imaging rules). The rules that could have shown a card of that topic on that hook
are the candidates; when more than one is, the card's summary is matched against each
candidate's summary templates (its text and variants, also with the pregnancy rewording the
engine applies), placeholders matching any text, then, if that leaves several, its links against
each candidate's guideline sources. A card that no single rule explains gets None:
it is counted as "(rule not recorded)", never under a guessed rule.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from string import Formatter
from typing import Any, Mapping

from .loader import Library
from .rules import Rule


def _pattern(template: str) -> re.Pattern[str]:
    """The summaries a template can render to: its words as written, any text for a placeholder."""
    parts = []
    for literal, field, _spec, _conversion in Formatter().parse(template.strip()):
        parts.append(re.escape(literal))
        if field is not None:
            parts.append(".*?")
    return re.compile(r"\s*" + "".join(parts) + r"\s*", re.DOTALL)


class CardRules:
    """Tells, per hook and topic, which of the library's rules made a card."""

    def __init__(self, library: Library) -> None:
        reworded = library.context.pregnancy.summary_wording
        self._candidates: dict[tuple[str, str], list[_Candidate]] = {}
        for rule in library.rules:
            if rule.silent or rule.status != "active":
                continue
            sources = frozenset(library.presentation.sources[s]["url"] for s in rule.sources)
            candidate = _Candidate(rule.id, [_pattern(t) for t in _summaries(rule, reworded)], sources)
            for hook in rule.hooks:
                self._candidates.setdefault((hook, rule.topic), []).append(candidate)

    def rule_of(self, hook: str, card: Mapping[str, Any]) -> str | None:
        """The id of the one rule that can have made `card` on `hook`; None if none or several can."""
        topic = card.get("source", {}).get("topic", {}).get("code")
        candidates = self._candidates.get((hook, topic or ""), [])
        if len(candidates) > 1:
            summary = str(card.get("summary", ""))
            candidates = [c for c in candidates if any(p.fullmatch(summary) for p in c.summaries)]
        if len(candidates) > 1:
            links = frozenset(link.get("url") for link in card.get("links", []) if isinstance(link, dict))
            candidates = [c for c in candidates if c.sources == links]
        return candidates[0].rule if len(candidates) == 1 else None


@dataclass(frozen=True)
class _Candidate:
    rule: str
    summaries: list[re.Pattern[str]]
    sources: frozenset[str]  # the urls of its guideline sources: the card's links


def _summaries(rule: Rule, reworded: Mapping[str, str]) -> set[str]:
    """The rule's summary templates, each also as pregnancy rewords it (engine/guard.py)."""
    out = set()
    for text in (rule.text, *(v.text for v in rule.variants)):
        pregnant = text.summary
        for words, instead in reworded.items():
            pregnant = pregnant.replace(words, instead)
        out |= {text.summary, pregnant}
    return out
