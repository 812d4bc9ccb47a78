"""JSON from outside the service (hook requests, feedback, FHIR replies), parsed with limits.

Parsed by orjson, about twice as fast as the stdlib on FHIR bodies (docs/architecture.md, "What
it costs"). What orjson refuses but JSON allows (a number beyond a double, a byte-order mark, a
lone surrogate escape) is parsed again by the stdlib, so the service reads exactly what it read
before, only faster. NaN and Infinity are not JSON and are refused.

Code further down (pydantic, FHIR models, our walkers) recurses, so nesting is capped well above
any real FHIR resource. The cap is checked on the text, not the parsed tree: a scan of the bytes
at C speed costs a fraction of the parse, where a walk of the tree in Python cost as much as the
parse itself. Every problem is a ValueError the caller already turns into "not valid JSON".
"""
from __future__ import annotations

import json
import re
from typing import Any

import orjson

# FHIR resources nest about 15 levels; a prefetch Bundle inside a request adds about 6.
MAX_DEPTH = 64

_NOT_STRUCTURE = bytes(range(256)).translate(None, b'"[]{}')
_STRING = re.compile(rb'"[^"]*"')
_INNERMOST = re.compile(rb"\{\}|\[\]")


class JsonError(ValueError):
    """The text is not JSON this service accepts; the message never quotes it."""


def _no_constant(name: str) -> Any:
    raise JsonError(f"not valid JSON ({name} is not a JSON number)")


def loads(body: bytes | str) -> Any:
    """Parsed JSON, or JsonError (a ValueError) for bad syntax, NaN/Infinity or nesting over MAX_DEPTH."""
    text = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError:
        data = _stdlib(body)
    if depth_over(text, MAX_DEPTH):
        raise JsonError(f"not valid JSON (nested more than {MAX_DEPTH} levels)")
    return data


def _stdlib(body: bytes | str) -> Any:
    try:
        return json.loads(body, parse_constant=_no_constant)
    except RecursionError:
        raise JsonError(f"not valid JSON (nested more than {MAX_DEPTH} levels)") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise JsonError(f"not valid JSON ({exc.__class__.__name__})") from None


def depth_over(text: bytes, limit: int) -> bool:
    """Whether valid JSON `text` nests deeper than `limit`: strings are cut out (escaped quotes
    first), leaving only brackets; each round of removing `[]` and `{}` pairs takes off one or two
    levels, and only a body near the limit needs the exact count (one level a round)."""
    if b"\\" in text:
        text = text.replace(b"\\\\", b"").replace(b'\\"', b"")
    # adjacent quotes are an empty string or two strings with no bracket between: either way no structure
    brackets = _STRING.sub(b"", text.translate(None, _NOT_STRUCTURE).replace(b'""', b""))
    rounds, rest = 0, brackets
    while rest and rounds <= limit:
        rest = rest.replace(b"[]", b"").replace(b"{}", b"")
        rounds += 1
    if 2 * rounds <= limit:
        return False
    if rounds > limit:
        return True
    for _ in range(limit):
        brackets = _INNERMOST.sub(b"", brackets)
        if not brackets:
            return False
    return True
