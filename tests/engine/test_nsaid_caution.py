"""CLINICAL §1.4 "check GI, renal and CV risk, age and anticoagulants": the conservative-care card
never headlines an NSAID for a patient with an anticoagulant, CKD stage 4-5 or dialysis, heart
failure, peripheral arterial disease or age nsaid_caution_age and over; its analgesia line says why.
Pregnancy keeps its own wording (§6.7)."""
from __future__ import annotations

import pytest

from tests.helpers.engine import topic_cards
from tests.helpers.findings import ICD, PATIENT_ID, ago, condition

CONS = "conservative-management"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
ADULT, OLDER = "1980-03-01", "1950-03-01"  # 46 and 76 on the tests' NOW
SCIATICA = condition("sci", (ICD, "M54.16"), onsetDateTime=ago(14))
BACK_PAIN = condition("lbp", (ICD, "M54.50"), onsetDateTime=ago(14))


def cond(rid: str, code: str) -> dict:
    return condition(rid, (ICD, code), onsetDateTime=ago(400))


def warfarin(status: str = "active", ended: int | None = None) -> dict:
    statement = {"resourceType": "MedicationStatement", "id": "wfn", "status": status,
                 "medicationCodeableConcept": {"coding": [{"system": RXNORM, "code": "11289"}], "text": "warfarin"},
                 "subject": {"reference": f"Patient/{PATIENT_ID}"}, "effectivePeriod": {"start": ago(900)}}
    if ended is not None:
        statement["effectivePeriod"]["end"] = ago(ended)
    return statement


def card(*resources: dict, birth: str = ADULT) -> dict:
    return topic_cards(*resources, birth=birth)[CONS]


def cautious(found: dict) -> bool:
    return "nsaid" not in found["summary"].lower() and "no NSAID first" in found["detail"] \
        and "consider an NSAID" not in found["detail"]


def test_without_a_reason_for_caution_the_card_still_suggests_an_nsaid():
    found = card(SCIATICA)
    assert "NSAID" in found["summary"] and not cautious(found)


@pytest.mark.parametrize("reason, label", [
    (cond("z79", "Z79.01"), "Long-term anticoagulant use"),
    (warfarin(), "warfarin"),
    (cond("ckd", "N18.5"), "Chronic kidney disease stage 4-5 or dialysis"),
    (cond("dia", "Z99.2"), "Chronic kidney disease stage 4-5 or dialysis"),
    (cond("hf", "I50.9"), "Heart failure"),
    (cond("pad", "I73.9"), "Peripheral arterial disease"),
])
def test_a_recorded_reason_takes_the_nsaid_out_of_the_headline_and_is_named(reason, label):
    found = card(SCIATICA, reason)
    assert cautious(found) and label in found["detail"].split("**Triggered by:**")[1]


def test_age_at_or_over_the_setting_is_a_reason_and_the_card_gives_the_age():
    found = card(SCIATICA, birth=OLDER)
    assert cautious(found) and "age 76)" in found["detail"]


def test_back_pain_without_radicular_pain_gets_the_cautious_wording_of_its_own_variant():
    found = card(BACK_PAIN, cond("z79", "Z79.01"))
    assert cautious(found) and "self-management" in found["summary"]


def test_past_six_weeks_the_imaging_wording_is_cautious_too():
    late = condition("sci", (ICD, "M54.16"), onsetDateTime=ago(60))
    plain, careful = topic_cards(late), topic_cards(late, cond("z79", "Z79.01"))
    assert "radiculopathy-imaging" in careful and "NSAID" in plain[CONS]["detail"]
    assert cautious(careful[CONS])


def test_a_warfarin_course_that_ended_long_ago_is_no_reason():
    assert not cautious(card(SCIATICA, warfarin("completed", ended=300)))


def test_pregnancy_keeps_its_own_analgesia_wording():
    pregnant = condition("preg", (ICD, "Z34.00"), recordedDate=ago(60))
    found = card(SCIATICA, pregnant, cond("z79", "Z79.01"))
    assert "maternity team" in found["detail"]
