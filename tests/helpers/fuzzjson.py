"""What the fuzz tests share to mutate JSON bodies: every place in a value, and the JSON text with
numbers json.dumps cannot write (1e400, NaN) put in for sentinel strings."""
from __future__ import annotations

import json
from typing import Any, Mapping


def slots(value: Any, out: list | None = None) -> list:
    """Every (container, key) in a JSON value, parents before children."""
    out = [] if out is None else out
    if isinstance(value, dict):
        for key in list(value):
            out.append((value, key))
            slots(value[key], out)
    elif isinstance(value, list):
        for i in range(len(value)):
            out.append((value, i))
            slots(value[i], out)
    return out


def wire(value: Any, literals: Mapping[str, str]) -> str:
    """`value` as JSON text, each sentinel string replaced by its literal."""
    text = json.dumps(value)
    for sentinel, literal in literals.items():
        text = text.replace(f'"{sentinel}"', literal)
    return text
