"""Generalisation (issue #19): every fixture scenario re-encoded in each way FHIR R4 allows that
means the same thing (tests/helpers/reencode.py) gets the same cards, topic and indicator, in
process with prefetch; a sample goes through the real FHIR server and the real app with fetch."""
from __future__ import annotations

import copy
from dataclasses import replace
from datetime import date
from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cds_service.core.settings import Settings
from cds_service.data.ownership import Owner
from cds_service.data.scenarios import list_scenarios, load_scenario
from cds_service.engine.advise import advise
from cds_service.workbench.cases import noon, scenario_case, service_for
from tests.helpers import reencode
from tests.helpers.apps import shipped_library

TODAY = date.today()
SCENARIOS = list_scenarios(Settings().fixtures_dir)
ENCODINGS = {e.__name__: e for e in reencode.re_encodings()}


@cache
def _case(sid: str):
    return scenario_case(load_scenario(Settings().fixtures_dir, sid, TODAY))


def resources(sid: str) -> list[dict]:
    return [e["resource"] for e in _case(sid).data["record"]["entry"]]


def cards(sid: str, data: dict) -> set[tuple[str, str]]:
    library = shipped_library()
    case = replace(_case(sid), data=data)
    # as sent by an EHR whose call names reencode.BASE as its fhirServer: only then can an absolute
    # reference be shown to be this server's patient
    owner = Owner(case.context["patientId"], data, reencode.BASE)
    advice = advise(library, service_for(library, case.hook), case.context, case.data, noon(TODAY), owner=owner)
    return {(c["source"]["topic"]["code"], c["indicator"]) for c in advice.cards}


def as_sent(sid: str, items: list[dict], page: int = 10_000) -> dict:
    return reencode.as_pages(copy.deepcopy(items), page)


@cache
def original(sid: str) -> frozenset[tuple[str, str]]:
    return frozenset(cards(sid, as_sent(sid, resources(sid))))


@pytest.mark.parametrize("name", sorted(ENCODINGS))
def test_each_re_encoding_gives_the_same_cards_in_every_scenario(name):
    applied, differ = 0, []
    for sid in SCENARIOS:
        changed = ENCODINGS[name](resources(sid))
        if changed is None:
            continue
        applied += 1
        got = cards(sid, as_sent(sid, changed))
        if got != original(sid):
            differ.append((sid, sorted(original(sid) - got), sorted(got - original(sid))))
    assert applied, f"{name} applies to no scenario: the generator has gone stale"
    assert not differ, f"{name}: {len(differ)} scenarios read differently (missing, extra): {differ[:5]}"


def test_all_re_encodings_at_once_give_the_same_cards():
    differ = []
    for sid in SCENARIOS:
        items = resources(sid)
        for encoding in ENCODINGS.values():
            items = encoding(items) or items
        got = cards(sid, as_sent(sid, items, page=3))
        if got != original(sid):
            differ.append((sid, sorted(original(sid) - got), sorted(got - original(sid))))
    assert not differ, differ[:5]


def test_bundles_split_across_pages_read_as_one():
    for sid in SCENARIOS:
        assert cards(sid, as_sent(sid, resources(sid), page=2)) == original(sid), sid


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_any_combination_in_any_order_gives_the_same_cards(data):
    sid = data.draw(st.sampled_from(SCENARIOS), label="scenario")
    chosen = data.draw(st.lists(st.sampled_from(sorted(ENCODINGS)), unique=True, max_size=len(ENCODINGS)),
                       label="re-encodings, in the order applied")
    items = resources(sid)
    for name in chosen:
        items = ENCODINGS[name](items) or items
    page = data.draw(st.integers(min_value=1, max_value=20), label="page size")
    assert cards(sid, as_sent(sid, items, page)) == original(sid), (sid, chosen)
