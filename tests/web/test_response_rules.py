"""Each CDS Hooks 2.0 response rule, broken on purpose: check_response must refuse it."""
from __future__ import annotations

import copy
import json
import re

import pytest

from cds_service.web.response import ResponseError, check_response

SR = {"resourceType": "ServiceRequest", "status": "draft", "intent": "proposal", "subject": {"reference": "Patient/p"}}


def good():
    return {"cards": [{
        "uuid": "c-1", "summary": "Summary", "indicator": "warning", "detail": "Detail",
        "source": {"label": "nerve-cds", "url": "https://example.org", "topic": {"system": "http://x", "code": "t"}},
        "suggestions": [
            {"label": "Order", "uuid": "s-1", "isRecommended": True, "actions": [{"type": "create", "description": "Create", "resource": dict(SR)}]},
            {"label": "Replace", "uuid": "s-2", "actions": [
                {"type": "delete", "description": "Remove the draft", "resourceId": "ServiceRequest/d-1"},
                {"type": "create", "description": "Create PT", "resource": dict(SR)}]}],
        "selectionBehavior": "at-most-one",
        "overrideReasons": [{"system": "http://x", "code": "r", "display": "Reason"}],
        "links": [{"label": "Guideline", "url": "https://example.org/g", "type": "absolute"}],
    }]}


def test_the_good_response_passes():
    check_response(good())
    check_response({"cards": []})


BREAKS = {
    "summary 140 characters": lambda c: c.update(summary="x" * 140),
    "indicator not in enum": lambda c: c.update(indicator="hard-stop"),
    "suggestions without selectionBehavior": lambda c: c.pop("selectionBehavior"),
    "two recommended with at-most-one": lambda c: c["suggestions"][1].update(isRecommended=True),
    "action without description": lambda c: c["suggestions"][0]["actions"][0].pop("description"),
    "delete without resourceId": lambda c: c["suggestions"][1]["actions"][0].pop("resourceId"),
    "delete with a resource": lambda c: c["suggestions"][1]["actions"][0].update(resource=dict(SR)),
    "create without resource": lambda c: c["suggestions"][0]["actions"][0].pop("resource"),
    "update without id": lambda c: c["suggestions"][0]["actions"][0].update(type="update"),
    "actions out of transaction order": lambda c: c["suggestions"][1]["actions"].reverse(),
    "override reason without display": lambda c: c["overrideReasons"][0].pop("display"),
    "appContext on absolute link": lambda c: c["links"][0].update(appContext="x"),
    "link type unknown": lambda c: c["links"][0].update(type="relative"),
    "null member": lambda c: c.update(detail=None),
    "empty string": lambda c: c.update(detail=""),
    "empty list": lambda c: c.update(links=[]),
    "empty object": lambda c: c["source"].update(topic={}),
    "card without uuid": lambda c: c.pop("uuid"),
    "suggestion without uuid": lambda c: c["suggestions"][0].pop("uuid"),
    "duplicate uuid": lambda c: c["suggestions"][1].update(uuid="c-1"),
    "unknown member": lambda c: c.update(autolaunchable=True),
    "source without label": lambda c: c["source"].pop("label"),
}


@pytest.mark.parametrize("rule", sorted(BREAKS))
def test_each_broken_rule_is_refused(rule):
    payload = copy.deepcopy(good())
    BREAKS[rule](payload["cards"][0])
    with pytest.raises(ResponseError):
        check_response(payload)


def test_selection_behavior_without_suggestions_refused():
    payload = copy.deepcopy(good())
    payload["cards"][0].pop("suggestions")
    with pytest.raises(ResponseError, match="selectionBehavior"):
        check_response(payload)


def _places(value, place=""):
    """Every member below `value` as (its name in ResponseError messages, the path to it)."""
    if isinstance(value, dict):
        for key, item in value.items():
            here = f"{place}.{key}" if place else key
            yield here, (key,)
            yield from ((name, (key, *path)) for name, path in _places(item, here))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield f"{place}[{i}]", (i,)
            yield from ((name, (i, *path)) for name, path in _places(item, f"{place}[{i}]"))


EMPTY_PLACES = [(name, path, empty) for name, path in _places(good()) if name != "cards"
                for empty in (None, "", [], {})]


@pytest.mark.parametrize("name, path, empty", EMPTY_PLACES, ids=[f"{n}={e!r}" for n, _, e in EMPTY_PLACES])
def test_an_empty_member_anywhere_is_refused_and_named(name, path, empty):
    """No member may be null, "", [] or {} at any depth, inside suggested FHIR resources too (which
    the card models take as any object), and the message names exactly where."""
    payload = json.loads(json.dumps(good()))  # good() shares its ServiceRequests' subject; a copy does too
    holder = payload
    for step in path[:-1]:
        holder = holder[step]
    holder[path[-1]] = empty
    with pytest.raises(ResponseError, match=rf"^{re.escape(name)}: null or empty members are not allowed$"):
        check_response(payload)


def test_zero_and_false_are_not_empty():
    payload = copy.deepcopy(good())
    payload["cards"][0]["suggestions"][0]["actions"][0]["resource"].update(priority=0, doNotPerform=False)
    check_response(payload)
