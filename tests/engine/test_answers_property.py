"""Property (clinical brief §6.0 monotonicity, §6.14): take every red-flag answer in the fixture
scenarios and turn it to No / Absent / Negative in every answer code system, or to something that
cannot be read. No is No whatever its code system: it never raises the most urgent indicator and
never adds a card except routine advice a more urgent card had silenced. Unreadable is neither
yes nor no: the cards are those of the record without the answer, plus the data-quality card."""
from __future__ import annotations

import copy
from dataclasses import replace
from datetime import date
from functools import cache

from hypothesis import given, settings
from hypothesis import strategies as st

from cds_service.core.settings import Settings
from cds_service.data.record import build_record
from cds_service.data.scenarios import list_scenarios, load_scenario
from cds_service.engine.advise import advise
from cds_service.engine.findings import find
from cds_service.workbench.cases import noon, scenario_case, service_for
from tests.helpers.apps import shipped_library

TODAY = date.today()
RANK = {"info": 0, "warning": 1, "critical": 2}
DQ, EMERGENCY = "data-quality", "cauda-equina-emergency"
V2_0136 = "http://terminology.hl7.org/CodeSystem/v2-0136"
V2_0532 = "http://terminology.hl7.org/CodeSystem/v2-0532"
V3 = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
SNOMED, LOINC, LOCAL = "http://snomed.info/sct", "http://loinc.org", "http://ehr.example.org/answers"


def _coded(system: str, code: str) -> dict:
    return {"valueCodeableConcept": {"coding": [{"system": system, "code": code}]}}


NEGATIVE = [{"valueBoolean": False}, _coded(V2_0136, "N"), _coded(V2_0532, "N"), _coded(SNOMED, "373067005"),
            _coded(SNOMED, "2667000"), _coded(SNOMED, "260385009"), _coded(SNOMED, "260415000"),
            _coded(SNOMED, "410516002"), _coded(LOINC, "LA32-8"), _coded(LOINC, "LA6577-6"), _coded(LOINC, "LA9634-2"),
            _coded(LOINC, "LA11883-8"), {"valueCodeableConcept": {"text": " No "}}, {"valueString": "absent"},
            {"valueString": "NEGATIVE"}, {"interpretation": [{"coding": [{"system": V3, "code": "NEG"}]}]},
            {"valueCodeableConcept": {"coding": [{"system": LOCAL, "code": "0"}, {"system": V2_0136, "code": "N"}]}}]
UNREADABLE = [_coded(LOCAL, "N"), {"valueCodeableConcept": {"text": "denies"}}, {"valueString": "2.9"},
              {"valueString": "maybe"}, {"valueBoolean": "false"}, {"valueDateTime": "2026-01-01"},
              {"valueCodeableConcept": {"coding": [{"system": V2_0136, "code": "Y"}, {"system": V2_0136, "code": "N"}]}}]


def red_flags() -> frozenset[str]:
    """The findings the data-quality rule (DQ-1) treats as red flags, as the library says."""
    (rule,) = [r for r in shipped_library().rules if r.topic == DQ]
    return frozenset(rule.when["unreadable"])


@cache
def answers() -> list[tuple[str, int]]:
    """(scenario, entry index) of every positive Observation about a red flag in fixtures/fhir."""
    library = shipped_library()
    found = []
    for sid in list_scenarios(Settings().fixtures_dir):
        entries = load_scenario(Settings().fixtures_dir, sid, TODAY).bundle["entry"]
        for i, entry in enumerate(entries):
            resource = entry["resource"]
            if resource["resourceType"] != "Observation":
                continue
            alone = find(build_record({"o": resource}), library.findings, library.terminology, noon(TODAY))
            if any(f.present for name, f in alone.by_name.items() if name in red_flags()):
                found.append((sid, i))
    return found


def cards(sid: str, index: int, change: dict | None) -> dict[str, str]:
    """topic -> indicator for the scenario with entry `index` changed (None: removed)."""
    library = shipped_library()
    case = scenario_case(load_scenario(Settings().fixtures_dir, sid, TODAY))
    data = copy.deepcopy(case.data)
    entries = data["record"]["entry"]
    if change is None:
        del entries[index]
    else:
        resource = entries[index]["resource"]
        for key in [k for k in resource if k.startswith("value") or k == "interpretation"]:
            del resource[key]
        resource.update(copy.deepcopy(change))
    case = replace(case, data=data)
    advice = advise(library, service_for(library, case.hook), case.context, case.data, noon(TODAY))
    return {c["source"]["topic"]["code"]: c["indicator"] for c in advice.cards}


def test_the_fixtures_hold_red_flag_answers_to_turn():
    assert len(answers()) >= 10 and len({sid for sid, _ in answers()}) >= 8


@settings(max_examples=400)
@given(data=st.data())
def test_no_in_any_code_system_is_no_and_never_raises_an_indicator(data):
    sid, index = data.draw(st.sampled_from(answers()), label="red-flag answer")
    shape = data.draw(st.sampled_from(NEGATIVE), label="No as sent")
    before, after = cards(sid, index, None), cards(sid, index, shape)
    original = cards(sid, index, {"valueBoolean": True})
    assert after == cards(sid, index, {"valueBoolean": False}), "No reads the same in every code system"
    assert DQ not in after
    top = max((RANK[i] for i in original.values()), default=-1)
    assert max((RANK[i] for i in after.values()), default=-1) <= top
    for topic, indicator in after.items():
        if topic not in original:  # only advice a more urgent card of the original had silenced
            assert RANK[indicator] < top, (sid, topic)
        else:
            assert RANK[indicator] <= RANK[original[topic]], (sid, topic)
    for topic in after:  # and never more than the record without the answer
        assert topic in before, (sid, topic)


@settings(max_examples=200)
@given(data=st.data())
def test_an_unreadable_answer_raises_nothing_and_is_said(data):
    sid, index = data.draw(st.sampled_from(answers()), label="red-flag answer")
    shape = data.draw(st.sampled_from(UNREADABLE), label="unreadable as sent")
    without, after = cards(sid, index, None), cards(sid, index, shape)
    assert after.pop(DQ) == "warning", "the could-not-read card appears"
    assert after == without, "the cards of the record without the answer: nothing rests on it"
    if without.get(EMERGENCY) != "critical":
        assert after.get(EMERGENCY) != "critical"
