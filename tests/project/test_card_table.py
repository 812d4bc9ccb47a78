"""The card table in docs/analyst.md is where a reader learns which cards the service issues: one row per
card topic the library declares and its rules issue, no more and no fewer."""
from __future__ import annotations

import re

from tests.helpers.apps import shipped_library
from tests.helpers.paths import ROOT


def card_table_topics() -> list[str]:
    text = (ROOT / "docs" / "analyst.md").read_text(encoding="utf-8")
    table = text.split("| card (`source.topic.code`) |", 1)[1].split("\n\n", 1)[0]
    rows = table.splitlines()[2:]  # after the header's end and its separator line
    assert all(row.startswith("| `") for row in rows), rows
    return [re.match(r"\| `([a-z0-9-]+)` \|", row).group(1) for row in rows]


def test_the_card_table_lists_every_topic_once():
    library = shipped_library()
    listed = card_table_topics()
    assert len(listed) == len(set(listed)), "a topic is listed twice"
    assert set(listed) == set(library.presentation.topics)
    assert set(listed) == {rule.topic for rule in library.rules if not rule.silent}
