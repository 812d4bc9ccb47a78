"""CONS-1 past the 6-week point (docs/clinical-safety.md CONS-1; CLINICAL §1.4, §6.0 point 2): the
"act on the imaging result" wording needs an MRI of the symptomatic region done or ordered in this
episode (read as IMG-2 reads it). Limb pain with no radicular diagnosis and no such MRI, exactly where
IMG-2 stays silent, gets an "examine for the cause" wording that neither calls the pain radicular nor
names an imaging result (review r3-28: vascular claudication beside leg pain was called radicular)."""
from __future__ import annotations

import itertools

import pytest

from tests.helpers.engine import topic_cards
from tests.helpers.findings import CPT, ICD, PATIENT_ID, ago, concept, condition

CONS = "conservative-management"
IMAGING = "radiculopathy-imaging"
RESULT = "imaging result"
ADULT, OLDER = "1980-03-01", "1950-03-01"  # 46 and 76 on the tests' NOW
SUBJECT = {"reference": f"Patient/{PATIENT_ID}"}
MRI_LUMBAR, MRI_CERVICAL = "72148", "72141"


def cond(rid: str, code: str, days: int = 60) -> dict:
    return condition(rid, (ICD, code), onsetDateTime=ago(days))


LEG_PAIN = cond("leg", "M79.604")   # Pain in right leg: not a radicular diagnosis
ARM_PAIN = cond("arm", "M79.601")   # Pain in right arm
PAD = cond("pad", "I70.213", 700)   # atherosclerosis of native arteries of the legs with claudication, both legs
RADICULOPATHY = cond("rad", "M54.16")


def mri_done(code: str = MRI_LUMBAR, days: int = 10) -> dict:
    return {"resourceType": "Procedure", "id": f"mri-{code}", "status": "completed", "code": concept((CPT, code)),
            "subject": SUBJECT, "performedDateTime": ago(days)}


def mri_ordered(code: str = MRI_LUMBAR, days: int = 3) -> dict:
    return {"resourceType": "ServiceRequest", "id": f"sr-{code}", "status": "active", "intent": "order",
            "code": concept((CPT, code)), "subject": SUBJECT, "authoredOn": ago(days)}


def text(card: dict) -> str:
    return f"{card['summary']}\n{card['detail']}"


def triggers(card: dict) -> str:
    return card["detail"].split("**Triggered by:**")[1]


@pytest.mark.parametrize("birth", [ADULT, OLDER])
def test_leg_pain_alone_past_six_weeks_is_not_called_radicular_and_names_no_imaging_result(birth):
    cards = topic_cards(LEG_PAIN, birth=birth)
    card = cards[CONS]
    assert "radicular" not in card["summary"].lower()
    assert RESULT not in text(card) and "Review the MRI" not in card["detail"]
    assert "Examine for a radicular pattern" in card["detail"] and "Safety net" in card["detail"]
    assert "Pain in right leg" in triggers(card)
    assert IMAGING not in cards, "IMG-2 needs a radicular diagnosis"


def test_the_older_patient_gets_the_cautious_twin_and_the_younger_the_nsaid_line():
    older, younger = topic_cards(LEG_PAIN, birth=OLDER)[CONS], topic_cards(LEG_PAIN, birth=ADULT)[CONS]
    assert all("Examine for a radicular pattern" in c["detail"] for c in (older, younger))
    assert "no NSAID first" in older["detail"] and "age 76" in older["detail"]
    assert "an NSAID at the lowest dose" in younger["detail"] and "no NSAID first" not in younger["detail"]
    assert "nsaid" not in older["summary"].lower() and "nsaid" not in younger["summary"].lower()


def test_leg_pain_with_peripheral_arterial_disease_names_it_and_calls_nothing_radicular():
    card = topic_cards(LEG_PAIN, PAD, birth=OLDER)[CONS]
    assert "radicular" not in card["summary"].lower() and RESULT not in text(card)
    assert "Peripheral arterial disease with claudication" in triggers(card)
    assert "vascular claudication" in card["detail"]


def test_radiculopathy_with_a_lumbar_mri_done_in_the_episode_acts_on_the_imaging_result():
    card = topic_cards(RADICULOPATHY, mri_done(), birth=ADULT)[CONS]
    assert card["summary"].startswith("Radicular pain beyond 6 weeks") and RESULT in card["summary"]
    assert "Review the MRI result" in card["detail"]
    assert "mri lumbar spine done (Procedure" in triggers(card), "the MRI it refers to is named"


def test_an_open_mri_order_counts_as_under_way():
    card = topic_cards(RADICULOPATHY, mri_ordered(), birth=ADULT)[CONS]
    assert RESULT in card["summary"]


def test_an_mri_from_before_the_episode_does_not_answer_it():
    """Done 200 days ago, before the leg pain began 60 days ago, and outside dedupe_days."""
    card = topic_cards(LEG_PAIN, mri_done(days=200), birth=ADULT)[CONS]
    assert RESULT not in text(card) and "radicular" not in card["summary"].lower()


def test_an_mri_of_the_other_region_does_not_answer_it():
    card = topic_cards(LEG_PAIN, mri_done(MRI_CERVICAL), birth=ADULT)[CONS]
    assert RESULT not in text(card)


def test_a_radicular_diagnosis_without_imaging_is_left_to_the_imaging_card():
    """IMG-2 fires; CONS-1 keeps its "while MRI is considered" wording, not the new one."""
    cards = topic_cards(RADICULOPATHY, LEG_PAIN, birth=ADULT)
    assert IMAGING in cards
    assert cards[CONS]["summary"].startswith("Continue conservative care while MRI is considered")
    assert "Examine for a radicular pattern" not in cards[CONS]["detail"]


def test_before_six_weeks_nothing_changes():
    card = topic_cards(cond("leg", "M79.604", 20), birth=ADULT)[CONS]
    assert "reassess at 6 weeks" in card["summary"] and RESULT not in text(card)


MRI_STATES = {"none": (), "lumbar done": (mri_done(),), "lumbar ordered": (mri_ordered(),),
              "cervical done": (mri_done(MRI_CERVICAL),)}


@pytest.mark.parametrize("leg, arm, pad, mri", [
    combo for combo in itertools.product([False, True], [False, True], [False, True], MRI_STATES)])
@pytest.mark.parametrize("birth", [ADULT, OLDER])
def test_an_imaging_result_is_named_only_when_an_mri_of_the_painful_region_is_done_or_ordered(leg, arm, pad, mri, birth):
    resources = [r for r, wanted in ((LEG_PAIN, leg), (ARM_PAIN, arm), (PAD, pad)) if wanted] + list(MRI_STATES[mri])
    cards = topic_cards(*resources, birth=birth)
    answered = (leg and mri.startswith("lumbar")) or (arm and mri.startswith("cervical"))
    named = [topic for topic, card in cards.items() if RESULT in text(card)]
    assert named == ([CONS] if answered else []), (named, answered)
    if (leg or arm) and not answered:
        card = cards[CONS]
        assert "radicular" not in card["summary"].lower() and "Examine for a radicular pattern" in card["detail"]
        assert "Safety net" in card["detail"] and "**Triggered by:**" in card["detail"]
    if not (leg or arm):
        assert CONS not in cards, "PAD or an MRI alone is no reason for conservative-care advice"
