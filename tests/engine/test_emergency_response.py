"""What sits beside an emergency card and inside its order (CLINICAL §6.3, §6.7, §6.12), on the real
card library and engine: one imaging order per study group, a whole-spine order never split over two
cards, contrast for every region when any merged reason needs it, no gadolinium kept in pregnancy, and
no MND or paediatric routine card beside an acute cord or cauda equina emergency."""
from __future__ import annotations

from tests.helpers.engine import topic_cards
from tests.helpers.findings import CPT, ICD, LEFT, LOWER_LIMB, PATIENT_ID, RIGHT, SNOMED, ago, body_site, condition, observation

CES, SERIOUS, MND, PAED = ("cauda-equina-emergency", "serious-spinal-pathology", "motor-neuron-disease-referral",
                           "paediatric-back-pain")
CONTRAST = {"72142", "72147", "72149", "72156", "72157", "72158"}
SPINE_MRI = {"72141", "72146", "72148"} | CONTRAST
WORSENED = {"coding": [{"system": SNOMED, "code": "271299001", "display": "Patient's condition worsened"}]}


def cond(rid: str, code: str, days: float, **fields) -> dict:
    return condition(rid, (ICD, code), onsetDateTime=ago(days), **fields)


def weak(rid: str, side: tuple[str, str], days: float = 1) -> dict:
    return observation(rid, (SNOMED, "26544005"), days=days, bodySite=body_site(LOWER_LIMB, side),
                       valueQuantity={"value": 3, "unit": "MRC grade"})


def mri_actions(found: dict[str, dict]) -> list[tuple[str, str, str, str]]:
    """(topic, suggestion label, CPT code, priority) of every spine MRI a card creates."""
    return [(topic, s["label"], c["code"], a["resource"].get("priority", "routine"))
            for topic, card in found.items() for s in card.get("suggestions", []) for a in s["actions"]
            if a["type"] == "create" for c in a["resource"]["code"]["coding"] if c["code"] in SPINE_MRI]


CES_WITH_FEVER = (cond("lbp", "M54.50", 5), cond("fev", "R50.9", 2), cond("ret", "R33.9", 1))


def test_an_infection_card_beside_the_ces_card_makes_its_one_lumbar_mri_a_contrast_study():
    found = topic_cards(*CES_WITH_FEVER)
    assert found[CES]["indicator"] == "critical" and found[SERIOUS]["indicator"] == "warning"
    mris = mri_actions(found)
    assert [(t, code, prio) for t, _, code, prio in mris] == [(CES, "72158", "stat")], mris
    assert "without and with contrast" in mris[0][1]
    assert "suggested on the card" in found[SERIOUS]["detail"] and "contrast" in found[SERIOUS]["summary"]


def test_infection_beside_a_whole_spine_ces_card_gives_contrast_for_every_region():
    found = topic_cards(*CES_WITH_FEVER, cond("thor", "M54.6", 3))
    mris = mri_actions(found)
    assert sorted(code for _, _, code, _ in mris) == ["72156", "72157", "72158"], mris
    assert {(t, prio) for t, _, _, prio in mris} == {(CES, "stat")}
    assert all("without and with contrast" in label for _, label, _, _ in mris)


def procedure(rid: str, code: str, days: int) -> dict:
    return {"resourceType": "Procedure", "id": rid, "status": "completed", "code": {"coding": [{"system": CPT, "code": code}]},
            "subject": {"reference": f"Patient/{PATIENT_ID}"}, "performedDateTime": ago(days)}


def test_two_critical_routes_wanting_mri_get_one_whole_spine_order_on_one_card():
    """Lumbar fusion 3 days ago, new back pain, new weakness of both legs and retention: the cauda
    equina card's lumbar MRI and the haematoma card's whole-spine MRI are one order, whole, on one card."""
    found = topic_cards(procedure("fusion", "22612", 3), cond("lbp", "M54.50", 2), cond("ret", "R33.9", 1),
                        weak("wl", LEFT), weak("wr", RIGHT))
    assert found[CES]["indicator"] == found[SERIOUS]["indicator"] == "critical"
    mris = mri_actions(found)
    assert sorted(code for _, _, code, _ in mris) == ["72141", "72146", "72148"], mris
    assert len({(t, label) for t, label, _, _ in mris}) == 1 and {p for *_, p in mris} == {"stat"}
    (topic, label), = {(t, label) for t, label, _, _ in mris}
    assert "whole-spine" in label
    other = found[CES if topic == SERIOUS else SERIOUS]
    assert "suggested on the card" in other["detail"]


def test_every_suggestion_labelled_whole_spine_images_every_region():
    for found in (topic_cards(procedure("fusion", "22612", 3), cond("lbp", "M54.50", 2), cond("ret", "R33.9", 1),
                              weak("wl", LEFT), weak("wr", RIGHT)),
                  topic_cards(*CES_WITH_FEVER, cond("thor", "M54.6", 3))):
        for card in found.values():
            for s in card.get("suggestions", []):
                if "whole-spine" in s["label"]:
                    regions = {c["code"] for a in s["actions"] if a["type"] == "create" for c in a["resource"]["code"]["coding"]}
                    assert len(regions & SPINE_MRI) == 3, (s["label"], regions)


def draft(code: str, priority: str) -> dict:
    return {"resourceType": "ServiceRequest", "id": "d1", "status": "draft", "intent": "order", "priority": priority,
            "subject": {"reference": f"Patient/{PATIENT_ID}"}, "code": {"coding": [{"system": CPT, "code": code}]}}


def test_in_pregnancy_a_drafted_contrast_mri_made_stat_is_switched_to_the_study_without_contrast():
    found = topic_cards(cond("preg", "Z3A.28", 10), cond("rad", "M54.16", 4), cond("ret", "R33.9", 1),
                        birth="1994-03-01", draft=draft("72158", "routine"))
    updates = [a["resource"] for card in found.values() for s in card.get("suggestions", []) for a in s["actions"]
               if a["type"] == "update"]
    assert updates and found[CES]["indicator"] == "critical"
    assert all({c["code"] for c in r["code"]["coding"]} == {"72148"} and r["priority"] == "stat" for r in updates), updates
    every = {c["code"] for card in found.values() for s in card.get("suggestions", []) for a in s["actions"]
             if "resource" in a for c in a["resource"]["code"]["coding"]}
    assert not every & CONTRAST


def test_outside_pregnancy_the_drafted_contrast_mri_keeps_its_study():
    found = topic_cards(cond("rad", "M54.16", 4), cond("ret", "R33.9", 1), birth="1994-03-01", draft=draft("72158", "routine"))
    updates = [a["resource"] for s in found[CES]["suggestions"] for a in s["actions"] if a["type"] == "update"]
    assert [{c["code"] for c in r["code"]["coding"]} for r in updates] == [{"72158"}]


PARESIS = (SNOMED, "102568007")
BABINSKI = observation("bab", (SNOMED, "246586009"), days=0, valueCodeableConcept={"coding": [{"system": SNOMED, "code": "52101004"}]})


def test_no_mnd_card_beside_a_rapid_paraparesis_with_retention_and_a_babinski_sign():
    found = topic_cards(condition("legs", PARESIS, onsetDateTime=ago(3), severity=WORSENED), cond("ret", "R33.9", 1), BABINSKI,
                        birth="1998-03-01")
    assert found[CES]["indicator"] == "critical"
    assert MND not in found


def test_rapid_weakness_alone_gives_no_mnd_card_but_slow_progressive_weakness_with_a_umn_sign_does():
    rapid = topic_cards(condition("legs", PARESIS, onsetDateTime=ago(3), severity=WORSENED), BABINSKI, birth="1960-03-01")
    slow = topic_cards(condition("legs", PARESIS, onsetDateTime=ago(200), severity=WORSENED), BABINSKI, birth="1960-03-01")
    assert MND not in rapid
    assert MND in slow


def test_bulbar_mnd_is_never_withheld_by_the_emergency_beside_it():
    dysphagia = cond("dys", "R13.10", 20)
    found = topic_cards(condition("legs", PARESIS, onsetDateTime=ago(3), severity=WORSENED), cond("ret", "R33.9", 1), BABINSKI,
                        dysphagia, birth="1960-03-01")
    assert found[MND]["indicator"] == "critical"


def test_a_child_with_a_ces_emergency_gets_no_paediatric_routine_card_beside_it():
    child = "2020-06-01"
    emergency = topic_cards(cond("lbp", "M54.50", 2), cond("ret", "R33.9", 1), birth=child)
    assert emergency[CES]["indicator"] == "critical" and PAED not in emergency
    assert PAED in topic_cards(cond("lbp", "M54.50", 2), birth=child)
