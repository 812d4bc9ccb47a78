"""CLINICAL §6.7, §6.12, §6.14 in the engine: how pregnancy is read, what no card may take away, and
one imaging order per study. Real card library, records built as an EHR sends them."""
from __future__ import annotations

from dataclasses import replace

import pytest

from cds_service.data.record import build_record
from cds_service.engine.advise import advise
from cds_service.engine.findings import find
from cds_service.engine.pregnancy import read_pregnancy
from tests.helpers.apps import shipped_library
from tests.helpers.findings import (
    CPT,
    ICD,
    LOINC,
    NOW,
    PATIENT_ID,
    ago,
    concept,
    condition,
    observation,
    patient,
    searchset,
    snomed,
)

LIBRARY = shipped_library()
SERVICE = {s.hook: s for s in LIBRARY.services}
CONTRAST = {"72142", "72147", "72149", "72156", "72157", "72158"}


def in_days(days: float) -> str:
    return ago(-days)


def pregnant(*resources: dict) -> bool:
    record = build_record({"patient": patient(), "conditions": searchset(*[r for r in resources if r["resourceType"] == "Condition"]),
                           "observations": searchset(*[r for r in resources if r["resourceType"] == "Observation"])})
    findings = find(record, LIBRARY.findings, LIBRARY.terminology, NOW)
    return read_pregnancy(record, findings, LIBRARY.context.pregnancy, LIBRARY.terminology, LIBRARY.settings).pregnant


def due_date(rid: str, due: str, recorded: float = 100) -> dict:
    return observation(rid, (LOINC, "11778-8"), days=recorded, valueDateTime=due)


def status(rid: str, answer: tuple[str, str], days: float) -> dict:
    return observation(rid, (LOINC, "82810-3"), days=days, valueCodeableConcept=concept(answer))


@pytest.mark.parametrize("resources, expected", [
    ([], False),
    ([due_date("o1", in_days(70))], True),
    ([due_date("o1", ago(30), recorded=250)], True),  # within postpartum_end_days of the due date
    ([due_date("o1", ago(60), recorded=280)], False),  # past it
    ([condition("c1", (ICD, "Z34.00"), recordedDate=ago(100))], True),
    ([condition("c1", (ICD, "Z34.00"), recordedDate=ago(400))], False),  # old code, no due date: lingering
    ([condition("c1", (ICD, "Z34.00"))], True),  # undated: the safe reading
    ([condition("c1", (ICD, "Z34.00"), recordedDate=ago(100)), condition("c2", (ICD, "Z37.0"), recordedDate=ago(10))], False),
    ([condition("c1", (ICD, "Z34.00"), recordedDate=ago(100)), status("o1", snomed("60001007")[0], 5)], False),
    ([status("o1", (LOINC, "LA15173-0"), 5)], True),
    ([status("o1", snomed("102874004")[0], 5)], True),  # possible pregnancy: treated as pregnant
    ([observation("o1", (LOINC, "49051-6"), days=2, valueQuantity={"value": 30, "unit": "wk", "code": "wk"})], True),
    ([observation("o1", (LOINC, "49051-6"), days=200, valueQuantity={"value": 30, "unit": "wk", "code": "wk"})], False),
    # malformed: a status that is not a string, a gestation without a unit, a due date that is not a date
    ([status("o1", (LOINC, "LA15173-0"), 5) | {"status": ["final"]}], False),
    ([observation("o1", (LOINC, "49051-6"), days=2, valueQuantity={"value": 30})], False),
    ([due_date("o1", "soon")], False),
    ([due_date("o1", "9999-12-31"), condition("c2", (ICD, "Z37.0"), recordedDate="0001-01-01")], True),
    ([due_date("o1", "0001-01-01")], False),
    ([observation("o1", (LOINC, "49051-6"), effectiveDateTime="9999-12-31", valueQuantity={"value": 1, "code": "wk"})], False),
])
def test_pregnancy_is_read_from_codes_status_due_date_and_gestation(resources, expected):
    assert pregnant(*resources) is expected


def cards(hook: str, *resources: dict, birth: str | None = "1980-03-01", drafts: tuple[dict, ...] = ()) -> list[dict]:
    data = {"patient": patient(birth)}
    for key, rtype in [("conditions", "Condition"), ("observations", "Observation")]:
        data[key] = searchset(*[r for r in resources if r["resourceType"] == rtype])
    context = {"patientId": PATIENT_ID, "hookInstance": "h-1", "userId": "Practitioner/p1"}
    if drafts:
        context["draftOrders"] = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": d} for d in drafts]}
        context["selections"] = [f"ServiceRequest/{drafts[0]['id']}"]
    return advise(LIBRARY, SERVICE[hook], context, data, NOW).cards


def mri_draft(priority: str) -> dict:
    return {"resourceType": "ServiceRequest", "id": "d1", "status": "draft", "intent": "order", "priority": priority,
            "code": concept((CPT, "72148")), "subject": {"reference": f"Patient/{PATIENT_ID}"}}


def created(card: dict) -> list[dict]:
    return [a["resource"] for s in card.get("suggestions", []) for a in s["actions"] if a["type"] == "create"]


def actions(found: list[dict]) -> set[str]:
    return {a["type"] for c in found for s in c.get("suggestions", []) for a in s["actions"]}


BACK_PAIN = condition("c1", (ICD, "M54.50"), onsetDateTime=ago(14))


@pytest.mark.parametrize("priority, birth, removable", [
    ("routine", "1980-03-01", True),
    ("urgent", "1980-03-01", False),
    ("stat", "1980-03-01", False),
    ("routine", None, False),  # unknown age: treated as adult, but imaging is never removed
])
def test_no_card_removes_an_urgent_order_or_imaging_of_unknown_age(priority, birth, removable):
    found = cards("order-select", BACK_PAIN, birth=birth, drafts=(mri_draft(priority),))
    (card,) = [c for c in found if c["source"]["topic"]["code"] == "imaging-not-indicated"]
    assert ("delete" in actions([card])) is removable
    assert card["indicator"] == ("warning" if removable else "info")


INFECTION_AND_FOOT_DROP = (
    condition("c1", (ICD, "M54.16"), onsetDateTime=ago(20)),
    condition("c2", (ICD, "R50.9"), onsetDateTime=ago(2)),
    condition("c3", (ICD, "M21.371"), onsetDateTime=ago(3)),
)


def test_two_cards_wanting_a_lumbar_mri_get_one_order_with_contrast_on_the_first_card():
    found = cards("patient-view", *INFECTION_AND_FOOT_DROP)
    lumbar = [(c["source"]["topic"]["code"], r) for c in found for r in created(c)
              if {x["code"] for x in r["code"]["coding"]} & {"72148", "72158"}]
    assert len(lumbar) == 1, [t for t, _ in lumbar]
    (topic, order), = lumbar
    assert topic == found[0]["source"]["topic"]["code"] and {x["code"] for x in order["code"]["coding"]} == {"72158"}
    others = [c for c in found if c["source"]["topic"]["code"] != topic and "suggested on the card" in c["detail"]]
    assert others, "the card that lost its MRI says where it is"


def test_in_pregnancy_no_contrast_study_is_suggested_and_imaging_is_not_withheld():
    due = due_date("o1", in_days(70))
    found = cards("patient-view", *INFECTION_AND_FOOT_DROP, due)
    codes = {x["code"] for c in found for r in created(c) for x in r["code"]["coding"]}
    assert "72148" in codes and not codes & CONTRAST
    assert all("contrast" not in c["summary"] or "without contrast" in c["summary"] for c in found)
    assert any("MRI without contrast first" in c["detail"] for c in found)


SCIATICA = condition("c1", (ICD, "M54.16"), onsetDateTime=ago(14))


def topics(found: list[dict]) -> set[str]:
    return {c["source"]["topic"]["code"] for c in found}


@pytest.mark.parametrize("birth, adult", [("2008-06-16", False), ("2008-06-15", True), (None, True)])
def test_the_adult_cards_stop_below_adult_min_age_and_the_paediatric_card_takes_their_place(birth, adult):
    """NOW is 2026-06-15: born 2008-06-16 is 17, born 2008-06-15 is 18 today; an unknown age reads as adult."""
    found = topics(cards("patient-view", SCIATICA, birth=birth))
    assert ("conservative-management" in found) is adult
    assert ("paediatric-back-pain" in found) is not adult


def test_a_rule_that_does_not_hold_in_pregnancy_does_not_run_for_a_pregnant_patient():
    rules = tuple(replace(r, in_pregnancy=False) if r.id == "CONS-1" else r for r in LIBRARY.rules)
    library = replace(LIBRARY, rules=rules)
    context = {"patientId": PATIENT_ID, "hookInstance": "h-2"}
    data = {"patient": patient(), "conditions": searchset(SCIATICA), "observations": searchset(due_date("o1", in_days(70)))}
    assert not advise(library, SERVICE["patient-view"], context, data, NOW).cards
    data["observations"] = searchset()
    assert topics(advise(library, SERVICE["patient-view"], context, data, NOW).cards) == {"conservative-management"}
