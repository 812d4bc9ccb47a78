"""Hypothesis strategies that break FHIR JSON: one member of a resource, a Bundle or a
batch-response entry given a value of the wrong JSON type (entry not a list, an entry that is a
string, a resource that is a list, a link url that is a number, a total that is a string, ...).
Every breakage here makes the value unusable, so the service must refuse it, never read around it."""
from __future__ import annotations

import copy
from typing import Any, Callable

from hypothesis import strategies as st

JUNK = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.floats(-2, 2, allow_nan=False),
                 st.sampled_from(["", "x", "200 OK", "Bundle", "[]", "{}"]), st.lists(st.integers(0, 2), max_size=2),
                 st.lists(st.sampled_from(["x", {}]), min_size=1, max_size=2),
                 st.dictionaries(st.sampled_from(["a", "url", "resource"]), st.integers(0, 2), max_size=2))


def junk(valid: Callable[[Any], bool]) -> st.SearchStrategy:
    """A JSON value that is not of the valid type."""
    return JUNK.filter(lambda v: not valid(v))


def _is_str(v: Any) -> bool:
    return isinstance(v, str)


def _is_count(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def _is_dict(v: Any) -> bool:
    return isinstance(v, dict)


def _is_list(v: Any) -> bool:
    return isinstance(v, list)


def _any(v: Any) -> bool:
    return False


# (what is broken, where: a function placing the junk value into a Bundle, the kind of value that fits there)
BUNDLE_BREAKS: list[tuple[str, Callable[[dict, Any], None], Callable[[Any], bool]]] = [
    ("entry not a list", lambda b, v: b.__setitem__("entry", v), _is_list),
    ("entry item", lambda b, v: b.setdefault("entry", []).append(v), _is_dict),
    ("entry resource", lambda b, v: b.setdefault("entry", []).append({"resource": v}), _is_dict),
    ("entry resource missing", lambda b, v: b.setdefault("entry", []).append({"search": {"mode": "match"}}), _any),
    ("entry fullUrl", lambda b, v: b.setdefault("entry", []).insert(0, {"fullUrl": v, "resource": {"resourceType": "Basic"}}), _is_str),
    ("entry search", lambda b, v: b.setdefault("entry", []).insert(0, {"search": v, "resource": {"resourceType": "Basic"}}), _is_dict),
    ("entry search mode", lambda b, v: b.setdefault("entry", []).insert(0, {"search": {"mode": v}, "resource": {"resourceType": "Basic"}}), _is_str),
    ("entry resourceType", lambda b, v: b.setdefault("entry", []).append({"resource": {"resourceType": v}}), lambda v: isinstance(v, str) and v != ""),
    ("link not a list", lambda b, v: b.__setitem__("link", v), _is_list),
    ("link item", lambda b, v: b.__setitem__("link", [v]), _is_dict),
    ("link url", lambda b, v: b.__setitem__("link", [{"relation": "next", "url": v}]), _is_str),
    ("link relation", lambda b, v: b.__setitem__("link", [{"relation": v, "url": "x"}]), _is_str),
    ("total", lambda b, v: b.__setitem__("total", v), _is_count),
    ("type", lambda b, v: b.__setitem__("type", v), _is_str),
]


@st.composite
def broken_bundle(draw: st.DrawFn, bundle: dict) -> tuple[str, Any]:
    """(what was broken, a copy of `bundle` with it broken); sometimes the whole value is junk
    (not an object, a top-level array) or its resourceType is."""
    kind = draw(st.sampled_from(["member"] * 6 + ["whole", "resourceType"]))
    if kind == "whole":
        return "not an object", draw(junk(_is_dict))
    broken = copy.deepcopy(bundle)
    if kind == "resourceType":
        broken["resourceType"] = draw(junk(lambda v: isinstance(v, str) and v != ""))
        return "resourceType", broken
    name, place, valid = draw(st.sampled_from(BUNDLE_BREAKS))
    place(broken, copy.deepcopy(draw(junk(valid))))
    return name, broken


@st.composite
def broken_resource(draw: st.DrawFn, resource: dict) -> tuple[str, Any]:
    """A resource that is not a Bundle (the Patient) broken as a whole or in its resourceType."""
    if draw(st.booleans()):
        return "not an object", draw(junk(_is_dict))
    return "resourceType", {**resource, "resourceType": draw(junk(lambda v: isinstance(v, str) and v != ""))}


def broken_value(value: dict) -> st.SearchStrategy:
    return broken_bundle(value) if value.get("resourceType") == "Bundle" else broken_resource(value)


@st.composite
def broken_batch_entry(draw: st.DrawFn, resource: Any) -> tuple[str, Any]:
    """A batch-response entry that carries no usable answer: not an object, a response or status of
    the wrong type, a status that is not 2xx, or no resource with a 2xx status."""
    kind = draw(st.sampled_from(["entry", "response", "status", "not 2xx", "resource"]))
    if kind == "entry":
        return "entry not an object", draw(junk(_is_dict))
    if kind == "response":
        return "response not an object", {"resource": resource, "response": draw(junk(_is_dict))}
    if kind == "status":
        return "status not a string", {"resource": resource, "response": {"status": draw(junk(_is_str))}}
    if kind == "not 2xx":
        status = draw(st.sampled_from(["404 Not Found", "500", "302 Found", "", "OK", "2", "20O", "abc def"]))
        return "status not 2xx", {"resource": resource, "response": {"status": status}}
    gone = draw(st.one_of(st.just(None), junk(_is_dict)))
    entry = {"response": {"status": "200 OK"}} if gone is None else {"resource": gone, "response": {"status": "200 OK"}}
    return "no resource", entry
