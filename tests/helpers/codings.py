"""Every coding in a JSON or YAML document, wherever it sits: for tests that check which code
systems and codes a card file or a prefetch carries."""
from __future__ import annotations

from typing import Any, Iterator


def codings(node: Any) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(system, code, the object itself) for every object with a string system and code."""
    if isinstance(node, dict):
        if isinstance(node.get("system"), str) and isinstance(node.get("code"), str):
            yield node["system"], node["code"], node
        for value in node.values():
            yield from codings(value)
    elif isinstance(node, list):
        for value in node:
            yield from codings(value)
