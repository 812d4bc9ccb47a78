"""Monotonicity (CLINICAL §6.0.3), over every scenario in fixtures/fhir: adding a red-flag finding, a raised
measurement or a risk context to a patient's record never lowers the most urgent indicator of the
response and never removes (or downgrades) an emergency card; adding an explaining diagnosis (§6.8,
§6.10, §6.11, §6.14) may remove a routine card but never one that rests on a sphincter, saddle,
progressive-weakness, fever or cancer flag. Checked systematically (every scenario with each addition)
and with hypothesis (random scenarios with several additions at once), on the real card library and
engine, with each scenario's own hook and draft orders."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from typing import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cds_service.data.scenarios import list_scenarios, load_scenario
from cds_service.engine.advise import Advice, advise
from cds_service.engine.findings import Finding
from cds_service.engine.trace import FIRED
from cds_service.workbench.cases import scenario_case, service_for
from tests.helpers.apps import shipped_library
from tests.helpers.paths import FIXTURES

ICD, SNOMED, LOINC, CPT = ("http://hl7.org/fhir/sid/icd-10-cm", "http://snomed.info/sct", "http://loinc.org",
                           "http://www.ama-assn.org/go/cpt")
LOCAL = "http://example.org/nerve-cds/CodeSystem/local-finding"
TODAY = date.today()
NOW = datetime.combine(TODAY, time(12), tzinfo=timezone.utc)
RANK = {"info": 0, "warning": 1, "critical": 2}
PROGRESSIVE_WEAKNESS = frozenset({"motor-deficit", "lower-limb-weakness", "upper-limb-weakness", "foot-drop",
                                  "weakness-objective", "gait-disturbance"})
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
    "rigid spine": condition("M45.9", days=2000),
    "aortic aneurysm": condition("I71.40", days=900),
}

# Explaining diagnoses (§6.8, §6.10, §6.11, §6.14): each may take away a routine card, never a flag's card.
EXPLAINING: dict[str, Callable[[str, str], list[dict]]] = {
    "diabetic polyneuropathy": condition("E11.42", days=2000),
    "hereditary polyneuropathy": condition("G60.0", days=2000),
    "peripheral arterial disease": condition("I70.213", days=700),
    "post-herpetic neuralgia": condition("B02.29", days=120),
    "old right hemiparesis": condition("I69.351", days=1100),
    "old left hemiparesis": condition("I69.354", days=1100),
    "brain tumour": condition("D33.0", days=1100),
}
FLAG_CATEGORIES = ("sphincter", "saddle")
FLAG_FINDINGS = frozenset({"saddle-sensory-loss", "fever", "measured-fever", "cancer-history", "active-cancer",
                           *(n for c in FLAG_CATEGORIES for n in LIBRARY.findings.in_category(c))})


def advice(sid: str, additions: tuple[str, ...] = (), explain: bool = False) -> Advice:
    case = scenario_case(load_scenario(FIXTURES, sid, TODAY))
    patient = case.context["patientId"]
    added = [r for n, name in enumerate(additions) for r in {**ADDITIONS, **EXPLAINING}[name](patient, f"mono-{n}")]
    data = {**case.data, "added": {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": r} for r in added]}}
    return advise(LIBRARY, service_for(LIBRARY, case.hook), case.context, data, NOW, explain=explain)


def response(sid: str, additions: tuple[str, ...] = ()) -> list[dict]:
    return advice(sid, additions).cards


def flag_cards(result: Advice) -> dict[str, int]:
    """Topic -> indicator rank of each card shown whose rule rests on a sphincter, saddle, fever or cancer
    finding, or on a weakness documented as progressive (the facts its `when` held on)."""
    shown = {c["source"]["topic"]["code"]: RANK[c["indicator"]] for c in result.cards}
    out = {}
    for rule in result.trace:
        if rule.outcome != FIRED or rule.when is None or rule.topic not in shown:
            continue
        findings = [f for f in rule.when.facts if isinstance(f, Finding)]
        if any(f.name in FLAG_FINDINGS or (f.progressive and f.name in PROGRESSIVE_WEAKNESS) for f in findings):
            out[rule.topic] = shown[rule.topic]
    return out


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


FLAGGED = {sid: flag_cards(advice(sid, explain=True)) for sid in SCENARIOS}


def test_the_flag_baseline_is_not_empty():
    """Guards the explaining-diagnosis property against passing vacuously: cards resting on each kind of flag."""
    flagged = [sid for sid, cards in FLAGGED.items() if cards]
    assert len(flagged) >= 20 and any("cauda-equina-emergency" in FLAGGED[sid] for sid in flagged)
    assert any("serious-spinal-pathology" in FLAGGED[sid] for sid in flagged)


@pytest.mark.parametrize("explaining", sorted(EXPLAINING))
def test_an_explaining_diagnosis_never_removes_a_card_resting_on_a_red_flag(explaining):
    """§6.0.3: a polyneuropathy, peripheral arterial disease, zoster or a brain lesion added to any scenario
    never removes or downgrades a card whose rule rests on a sphincter, saddle, progressive-weakness,
    fever or cancer flag, nor lowers the most urgent indicator where such a card was shown."""
    for sid, before in FLAGGED.items():
        if not before:
            continue
        after = advice(sid, (explaining,))
        shown = {c["source"]["topic"]["code"]: RANK[c["indicator"]] for c in after.cards}
        lost = {topic for topic, rank in before.items() if shown.get(topic, -1) < rank}
        assert not lost, f"{sid} + {explaining}: red-flag card(s) {lost} removed or downgraded"
        assert most_urgent(after.cards) >= max(before.values()), (sid, explaining)


@pytest.mark.parametrize("sid, topic", [("m04-diabetic-foot-check-back-pain", "cauda-equina-urgent"),
                                        ("m05-pad-claudication-back-pain", "cauda-equina-urgent"),
                                        ("m06-post-herpetic-thoracic-pain", "radiculopathy-imaging"),
                                        ("m07-old-stroke-same-side-reflexes", "cervical-myelopathy")])
def test_each_explaining_diagnosis_is_what_silences_its_card(sid, topic):
    """The scenario written for each explaining diagnosis (its first Condition) gets the routine card back
    without it, so the properties above are not vacuous for these diagnoses."""
    case = scenario_case(load_scenario(FIXTURES, sid, TODAY))
    explaining = f"{sid}-c1"

    def without(value: dict | None) -> dict | None:
        if not value or value.get("resourceType") != "Bundle":
            return value
        return {**value, "entry": [e for e in value.get("entry", []) if e.get("resource", {}).get("id") != explaining]}

    data = {key: without(value) for key, value in case.data.items()}
    cards = advise(LIBRARY, service_for(LIBRARY, case.hook), case.context, data, NOW).cards
    assert topic in {c["source"]["topic"]["code"] for c in cards}
    assert topic not in {c["source"]["topic"]["code"] for c in BASELINE[sid]}
