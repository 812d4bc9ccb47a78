"""JSON from outside the service (hook requests, feedback, FHIR replies), parsed with limits.

Python's json accepts NaN and Infinity (not JSON) and fails with RecursionError on deep nesting;
code further down (pydantic, FHIR models, our own walkers) recurses too. So nesting is capped
well above any real FHIR resource, and every such problem is a ValueError the caller already
turns into "not valid JSON".
"""
from __future__ import annotations

import json
from typing import Any, Iterable

# FHIR resources nest about 15 levels; a prefetch Bundle inside a request adds about 6.
MAX_DEPTH = 64


class JsonError(ValueError):
    """The text is not JSON this service accepts; the message never quotes it."""


def _no_constant(name: str) -> Any:
    raise JsonError(f"not valid JSON ({name} is not a JSON number)")


def loads(body: bytes | str) -> Any:
    """Parsed JSON, or JsonError (a ValueError) for bad syntax, NaN/Infinity or nesting over MAX_DEPTH."""
    try:
        data = json.loads(body, parse_constant=_no_constant)
    except RecursionError:
        raise JsonError(f"not valid JSON (nested more than {MAX_DEPTH} levels)") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise JsonError(f"not valid JSON ({exc.__class__.__name__})") from None
    if _depth_over(data, MAX_DEPTH):
        raise JsonError(f"not valid JSON (nested more than {MAX_DEPTH} levels)")
    return data


def _depth_over(data: Any, limit: int) -> bool:
    """Iterative, so the check itself cannot overflow the stack."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        children: Iterable[Any]
        if isinstance(value, dict):
            children = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False
