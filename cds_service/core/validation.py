"""One way to say what is wrong with validated input: field paths and reasons, never values.

Used for hook requests, feedback, settings and the trust file (card files are checked against
JSON Schemas by library/schema.py, in the same `place: problem` form). The values are left out
because a request's values may be patient data and a setting's may be a secret.
"""
from __future__ import annotations

from typing import Callable

from pydantic import ValidationError


def describe(error: ValidationError, prefix: str = "", name: Callable[[str], str] = str) -> str:
    """`place: reason; place: reason` for every problem pydantic found; `name` spells the first
    element of each place (an environment variable for a setting, say)."""
    parts = []
    for item in error.errors(include_input=False, include_url=False):
        loc = [str(p) for p in item["loc"]]
        place = ".".join([name(loc[0])] + loc[1:]) if loc else ""
        parts.append(f"{prefix}{place}: {item['msg']}" if place else f"{prefix}{item['msg']}".rstrip(": "))
    return "; ".join(parts)
