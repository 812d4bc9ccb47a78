"""Monotonicity (CLINICAL §6.0.3), over every scenario in fixtures/fhir: adding a red-flag finding, a raised
measurement or a risk context to a patient's record never lowers the most urgent indicator of the
response and never removes (or downgrades) an emergency card. Checked systematically (every scenario
with each addition) and with hypothesis (random scenarios with several additions at once), on the real
card library and engine, with each scenario's own hook and draft orders."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from typing import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cds_service.data.scenarios import list_scenarios, load_scenario
from cds_service.engine.advise import advise
from cds_service.workbench.cases import scenario_case, service_for
from tests.helpers.apps import shipped_library
from tests.helpers.paths import FIXTURES

ICD, SNOMED, LOINC, CPT = ("http://hl7.org/fhir/sid/icd-10-cm", "http://snomed.info/sct", "http://loinc.org",
                           "http://www.ama-assn.org/go/cpt")
LOCAL = "http://example.org/nerve-cds/CodeSystem/local-finding"
TODAY = date.today()
NOW = datetime.combine(TODAY, time(12), tzinfo=timezone.utc)
RANK = {"info": 0, "warning": 1, "critical": 2}
SCENARIOS = list_scenarios(FIXTURES)
LIBRARY = shipped_library()


def ago(days: int) -> str:
    return (TODAY - timedelta(days=days)).isoformat()


def coded(system: str, code: str) -> dict:
    return {"coding": [{"system": system, "code": code}]}


def condition(code: str, days: int = 1, system: str = ICD, verification: str = "confirmed") -> Callable[[str, str], list[dict]]:
    def make(patient: str, rid: str) -> list[dict]:
        return [{"resourceType": "Condition", "id": rid, "subject": {"reference": f"Patient/{patient}"},
                 "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]},
                 "verificationStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                                                    "code": verification}]},
                 "code": coded(system, code), "onsetDateTime": ago(days)}]
    return make


def observation(system: str, code: str, days: int = 0, **fields) -> Callable[[str, str], list[dict]]:
    def make(patient: str, rid: str) -> list[dict]:
        return [{"resourceType": "Observation", "id": rid, "status": "final", "subject": {"reference": f"Patient/{patient}"},
                 "code": coded(system, code), "effectiveDateTime": ago(days), **fields}]
    return make


def measurement(code: str, value: float, unit: str, high: float | None = None) -> Callable[[str, str], list[dict]]:
    extra = {"referenceRange": [{"high": {"value": high, "unit": unit}}]} if high is not None else {}
    return observation(LOINC, code, valueQuantity={"value": value, "unit": unit}, **extra)


def worsening_legs(patient: str, rid: str) -> list[dict]:
    """Weakness of both legs, MRC 4 six days ago and 2 today: documented progression in two limbs."""
    out = []
    for n, (side, days, grade) in enumerate([("7771000", 6, 4), ("24028007", 6, 4), ("7771000", 0, 2), ("24028007", 0, 2)]):
        out += observation(SNOMED, "26544005", days, valueQuantity={"value": grade, "unit": "MRC grade"},
                           bodySite={"coding": [{"system": SNOMED, "code": "61685007"}, {"system": SNOMED, "code": side}]})(
            patient, f"{rid}-{n}")
    return out


def spinal_surgery(patient: str, rid: str) -> list[dict]:
    return [{"resourceType": "Procedure", "id": rid, "status": "completed", "subject": {"reference": f"Patient/{patient}"},
             "code": coded(CPT, "63030"), "performedDateTime": ago(20)}]


# Red-flag findings, raised measurements and risk contexts (CLINICAL §1.1, §5.1, §6.1-§6.3).
ADDITIONS: dict[str, Callable[[str, str], list[dict]]] = {
    "urinary retention": condition("R33.9"),
    "faecal incontinence": condition("R15.9"),
    "saddle numbness": observation(SNOMED, "44077006", bodySite=coded(SNOMED, "38864007")),
    "measured fever": measurement("8310-5", 39.0, "Cel"),
    "fever in Fahrenheit": measurement("8331-1", 102.2, "[degF]"),
    "raised CRP": measurement("1988-5", 150, "mg/L", high=5),
    "raised ESR": measurement("30341-2", 80, "mm/h"),
    "raised WBC": measurement("6690-2", 18, "10*9/L"),
    "spinal infection": condition("G06.1", verification="provisional"),
    "bacteraemia": condition("R78.81"),
    "cancer history": condition("Z85.3", days=400),
    "IV drug use": condition("228388006", system=SNOMED),
    "immunosuppression": condition("B20", days=300),
    "recent spinal surgery": spinal_surgery,
    "Guillain-Barre": condition("G61.0"),
    "worsening weakness of both legs": worsening_legs,
    "thoracic pain": condition("M54.6"),
    "high-energy trauma": condition("V43.52XA", days=3),
    "sensory level": observation(LOCAL, "sensory-level"),
    "hyperreflexia": observation(SNOMED, "86854008"),
    "breathlessness": condition("R06.00"),
    "dysphagia": condition("R13.10"),
}


def response(sid: str, additions: tuple[str, ...] = ()) -> list[dict]:
    case = scenario_case(load_scenario(FIXTURES, sid, TODAY))
    patient = case.context["patientId"]
    added = [r for n, name in enumerate(additions) for r in ADDITIONS[name](patient, f"mono-{n}")]
    data = {**case.data, "added": {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": r} for r in added]}}
    return advise(LIBRARY, service_for(LIBRARY, case.hook), case.context, data, NOW).cards


def most_urgent(cards: list[dict]) -> int:
    return max((RANK[c["indicator"]] for c in cards), default=-1)


def emergencies(cards: list[dict]) -> set[str]:
    return {c["source"]["topic"]["code"] for c in cards if c["indicator"] == "critical"}


BASELINE = {sid: response(sid) for sid in SCENARIOS}


def check(sid: str, additions: tuple[str, ...]) -> list[dict]:
    before, after = BASELINE[sid], response(sid, additions)
    assert most_urgent(after) >= most_urgent(before), (sid, additions, [c["indicator"] for c in after])
    lost = emergencies(before) - emergencies(after)
    assert not lost, f"{sid} + {additions}: emergency card(s) {lost} removed or downgraded"
    return after


def test_the_baseline_covers_every_kind_of_response():
    """Guards the property against passing vacuously: scenarios with no card, routine cards and emergencies."""
    urgencies = {most_urgent(cards) for cards in BASELINE.values()}
    assert urgencies == {-1, 0, 1, 2} and len(SCENARIOS) >= 100


@pytest.mark.parametrize("addition", sorted(ADDITIONS))
def test_each_addition_to_every_scenario_never_lowers_urgency_or_removes_an_emergency(addition):
    raised = 0
    for sid in SCENARIOS:
        raised += most_urgent(check(sid, (addition,))) > most_urgent(BASELINE[sid])
    if addition != "raised WBC":  # never alone: a normal count does not exclude infection, a raised one is no sign by itself
        assert raised, f"{addition} raised the urgency of no scenario: the addition is not read at all"


@settings(max_examples=150, deadline=None)
@given(sid=st.sampled_from(SCENARIOS),
       additions=st.lists(st.sampled_from(sorted(ADDITIONS)), min_size=2, max_size=4, unique=True))
def test_several_additions_at_once_never_lower_urgency_or_remove_an_emergency(sid, additions):
    check(sid, tuple(additions))
