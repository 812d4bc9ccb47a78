"""CLINICAL §6.2 related rule (haematoma) and §6.14 on the real card library and engine: an
anticoagulant or a recent neuraxial procedure, with new spinal pain and a new deficit, is possible
spinal epidural haematoma (critical, one emergency MRI, emergency referral); each part alone is not."""
from __future__ import annotations

from tests.helpers.engine import topic_cards
from tests.helpers.findings import CPT, ICD, LEFT, LOWER_LIMB, PATIENT_ID, SNOMED, ago, body_site, condition, observation

SERIOUS, CES = "serious-spinal-pathology", "cauda-equina-emergency"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
APIXABAN = "1364430"
WHOLE_SPINE = {"72141", "72146", "72148"}


def cond(rid: str, code: str, days: int) -> dict:
    return condition(rid, (ICD, code), onsetDateTime=ago(days))


def weak(rid: str = "w", days: float = 1) -> dict:
    return observation(rid, (SNOMED, "26544005"), days=days, bodySite=body_site(LOWER_LIMB, LEFT),
                       valueQuantity={"value": 3, "unit": "MRC grade"})


def procedure(rid: str, system: str, code: str, days: int) -> dict:
    return {"resourceType": "Procedure", "id": rid, "status": "completed", "code": {"coding": [{"system": system, "code": code}]},
            "subject": {"reference": f"Patient/{PATIENT_ID}"}, "performedDateTime": ago(days)}


def apixaban(status: str = "active", ended: int | None = None) -> dict:
    statement = {"resourceType": "MedicationStatement", "id": "apx", "status": status,
                 "medicationCodeableConcept": {"coding": [{"system": RXNORM, "code": APIXABAN}], "text": "apixaban"},
                 "subject": {"reference": f"Patient/{PATIENT_ID}"}, "effectivePeriod": {"start": ago(400)}}
    if ended is not None:
        statement["effectivePeriod"]["end"] = ago(ended)
    return statement


def haematoma(found: dict) -> bool:
    card = found.get(SERIOUS)
    return card is not None and card["indicator"] == "critical" and "haematoma" in card["summary"]


def created_codes(card: dict) -> set[str]:
    return {c["code"] for s in card.get("suggestions", []) for a in s["actions"] if a["type"] == "create"
            for c in a["resource"]["code"]["coding"]}


NEW_PAIN = cond("lbp", "M54.50", 3)
ANTICOAGULATED = cond("z79", "Z79.01", 300)


def test_an_anticoagulant_with_new_back_pain_and_a_new_deficit_is_critical_with_one_emergency_mri():
    found = topic_cards(ANTICOAGULATED, NEW_PAIN, weak())
    assert haematoma(found)
    card = found[SERIOUS]
    assert WHOLE_SPINE <= created_codes(card) and "306104004" in created_codes(card)
    assert "progressive-deficit" not in found and "conservative-management" not in found
    assert "Long-term anticoagulant use" in card["detail"]
    assert any("ASRA" in link["label"] for link in card["links"])  # sources are the card's links, cited once


def test_an_active_anticoagulant_medication_counts_like_the_code():
    assert haematoma(topic_cards(apixaban(), NEW_PAIN, weak()))


def test_without_a_deficit_or_with_old_pain_it_does_not_fire():
    assert not haematoma(topic_cards(ANTICOAGULATED, NEW_PAIN))
    assert not haematoma(topic_cards(ANTICOAGULATED, cond("lbp", "M54.50", 200), weak())), "long-standing pain is not new"


def test_an_anticoagulant_stopped_long_ago_does_not_count():
    assert not haematoma(topic_cards(apixaban("completed", ended=300), NEW_PAIN, weak()))


def test_a_neuraxial_procedure_within_the_window_counts_with_pain_since_and_a_new_deficit():
    lumbar_puncture = procedure("lp", SNOMED, "277762005", 3)
    pain_since = cond("lbp", "M54.50", 1)
    assert haematoma(topic_cards(lumbar_puncture, pain_since, weak()))
    assert not haematoma(topic_cards(lumbar_puncture, pain_since)), "no deficit"
    assert not haematoma(topic_cards(procedure("lp", SNOMED, "277762005", 12), pain_since, weak())), "past the window"
    assert not haematoma(topic_cards(lumbar_puncture, cond("lbp", "M54.50", 1), weak(days=20))), "deficit from before the window"


def test_a_labour_epidural_counts_only_with_new_back_pain_and_a_new_deficit():
    epidural = procedure("epi", SNOMED, "397990008", 2)
    pain_since = cond("lbp", "M54.50", 1)
    fever = observation("t", ("http://loinc.org", "8310-5"), days=0, valueQuantity={"value": 38.6, "unit": "Cel"})
    assert not haematoma(topic_cards(epidural, pain_since)), "the window alone is not enough"
    assert not haematoma(topic_cards(epidural, pain_since, fever)), "a fever is the infection card's, not a haematoma"
    assert haematoma(topic_cards(epidural, pain_since, weak()))


def test_after_spine_surgery_a_deficit_that_began_before_the_operation_does_not_count():
    operation = procedure("op", CPT, "63030", 2)
    assert not haematoma(topic_cards(operation, cond("lbp", "M54.50", 1), weak(days=25)))
    assert haematoma(topic_cards(operation, cond("lbp", "M54.50", 1), weak(days=1)))


def test_beside_the_cauda_equina_card_the_spine_is_ordered_once():
    found = topic_cards(ANTICOAGULATED, NEW_PAIN, weak(), cond("ret", "R33.9", 1))
    assert found[CES]["indicator"] == "critical" and haematoma(found)
    ordered = [code for card in found.values() for code in created_codes(card) if code in WHOLE_SPINE]
    assert sorted(ordered) == sorted(set(ordered)), f"one order per region: {ordered}"


def test_on_an_order_hook_the_spine_mri_being_ordered_becomes_the_emergency_study():
    draft = {"resourceType": "ServiceRequest", "id": "mri", "status": "draft", "intent": "order", "priority": "routine",
             "subject": {"reference": f"Patient/{PATIENT_ID}"},
             "code": {"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": "72148"}]}}
    card = topic_cards(ANTICOAGULATED, NEW_PAIN, weak(), draft=draft)[SERIOUS]
    assert card["indicator"] == "critical" and not created_codes(card) & WHOLE_SPINE, "no second MRI"
    updates = [a["resource"] for s in card["suggestions"] for a in s["actions"] if a["type"] == "update"]
    assert [u["priority"] for u in updates] == ["stat"]
