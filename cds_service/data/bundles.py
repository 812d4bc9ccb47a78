"""The shape of a prefetch value or a FHIR server's answer: a resource, or a Bundle whose every
member has the JSON type FHIR gives it; otherwise the answer is unusable.

The resources themselves are read tolerantly (core/fhirjson.py), but the Bundle around them says
what the record holds: an `entry` that is not a list, an entry that is a string or a `resource`
that is a list would silently empty the record, and advice on a silently emptied record is
unsafe. So an answer of the wrong shape counts as not had (a 412 for a key the advice needs).
Messages name the place, never a value (it may be patient data).
"""
from __future__ import annotations

from typing import Any


def problem(value: Any) -> str | None:
    """None for a usable resource or Bundle; else where it is malformed."""
    return _resource(value, "")


def _at(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _resource(value: Any, path: str) -> str | None:
    if not isinstance(value, dict):
        return f"{path or 'the answer'} is not a JSON object"
    rtype = value.get("resourceType")
    if not isinstance(rtype, str) or not rtype:
        return f"{_at(path, 'resourceType')} is not a string"
    if rtype != "Bundle":
        return None
    for name in ("type", "id", "timestamp"):
        if name in value and not isinstance(value[name], str):
            return f"{_at(path, name)} is not a string"
    total = value.get("total", 0)
    if isinstance(total, bool) or not isinstance(total, int) or total < 0:
        return f"{_at(path, 'total')} is not a count"
    return _links(value, path) or _entries(value, path)


def _links(bundle: dict, path: str) -> str | None:
    links = bundle.get("link", [])
    if not isinstance(links, list):
        return f"{_at(path, 'link')} is not a list"
    for i, link in enumerate(links):
        where = _at(path, f"link[{i}]")
        if not isinstance(link, dict):
            return f"{where} is not an object"
        for name in ("relation", "url"):
            if not isinstance(link.get(name), str):
                return f"{where}.{name} is not a string"
        if link["relation"] == "next" and not link["url"].strip():
            return f"{where}.url of the next page is empty"
    return None


def _entries(bundle: dict, path: str) -> str | None:
    entries = bundle.get("entry", [])
    if not isinstance(entries, list):
        return f"{_at(path, 'entry')} is not a list"
    for i, entry in enumerate(entries):
        where = _at(path, f"entry[{i}]")
        if not isinstance(entry, dict):
            return f"{where} is not an object"
        if "fullUrl" in entry and not isinstance(entry["fullUrl"], str):
            return f"{where}.fullUrl is not a string"
        for name in ("search", "request", "response"):
            if name in entry and not isinstance(entry[name], dict):
                return f"{where}.{name} is not an object"
        if "mode" in entry.get("search", {}) and not isinstance(entry["search"]["mode"], str):
            return f"{where}.search.mode is not a string"
        if "resource" not in entry:
            return f"{where} has no resource"
        found = _resource(entry["resource"], f"{where}.resource")
        if found:
            return found
    return None
