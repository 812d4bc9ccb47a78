"""What the cards say for the clinical safety review's patients (scenarios r01-r16, docs/clinical-safety.md,
§5.2, §1.5): the right region is imaged, nothing is ordered twice, an emergency offers the emergency
referral, and reassurance claims only what is recorded. Real app, real FHIR server."""
from __future__ import annotations

import pytest

from cds_service.core.settings import Settings
from tests.helpers.apps import new_app
from tests.helpers.scenarios import card, fetched_replies, orders

SETTINGS = Settings()
SIDS = ["r02-cancer-new-weakness-no-pain", "r03-cancer-new-sciatica", "r04-prednisolone-two-years-back-pain",
        "r07-twitching-leg-weakness-l5-radiculopathy", "r08-thoracic-pain-umn-leg-numbness",
        "r12-osteoporosis-lumbar-mri-signed", "r13-car-crash-new-leg-weakness", "r14-young-twitching-no-exam",
        "r15-thoracic-pain-both-legs-weak-gait", "r16-cancer-back-pain-both-legs-weak",
        "r17-breast-cancer-12-years-remission-back-pain", "r18-neck-pain-clumsy-numb-hands-unsteady"]
WHOLE_SPINE = [{"72141"}, {"72146"}, {"72148"}]
WHOLE_SPINE_CONTRAST = [{"72156"}, {"72157"}, {"72158"}]
EMERGENCY_REFERRAL = {"306104004"}


@pytest.fixture(scope="module")
def replies(fhir_base_url, tmp_path_factory):
    """scenario id -> the service's reply, each scenario loaded into the FHIR server and fetched."""
    app = new_app(Settings(dev=True, auth_enabled=False, fhir_allowlist=(fhir_base_url,),
                           database_url=f"sqlite:///{tmp_path_factory.mktemp('review')}/fb.db"))
    return fetched_replies(app, fhir_base_url, SIDS)





@pytest.mark.parametrize("sid", ["r02-cancer-new-weakness-no-pain", "r03-cancer-new-sciatica"])
def test_cancer_with_a_new_deficit_or_radicular_pain_gets_whole_spine_mri_in_24_hours(replies, sid):
    rf1 = card(replies, sid, "serious-spinal-pathology")
    assert rf1["indicator"] == "critical" and "MSCC coordinator now" in rf1["summary"]
    assert [[codes for codes, _ in s] for s in orders(rf1)] == [WHOLE_SPINE]
    assert {p for s in orders(rf1) for _, p in s} == {"stat"}


@pytest.mark.parametrize("sid, study", [("r15-thoracic-pain-both-legs-weak-gait", WHOLE_SPINE),
                                        ("r16-cancer-back-pain-both-legs-weak", WHOLE_SPINE_CONTRAST)])
def test_ces_with_thoracic_pain_or_cancer_images_the_whole_spine(replies, sid, study):
    """CLINICAL §6.1/§6.12: with a tumour (or infection) in the record the whole spine is imaged with contrast."""
    ces = card(replies, sid, "cauda-equina-emergency")
    assert "whole spine" in ces["summary"] and "**whole spine**" in ces["detail"]
    made = orders(ces)
    assert [codes for codes, _ in made[0]] == study and {p for _, p in made[0]} == {"stat"}
    assert [codes for codes, _ in made[1]] == [EMERGENCY_REFERRAL]
    whole_spine = ces["suggestions"][0]
    texts = [a["resource"]["code"].get("text", "") + a["resource"].get("note", [{}])[0].get("text", "") for a in whole_spine["actions"]]
    assert "cauda equina" in whole_spine["label"] and not any("MSCC" in t or "metasta" in t for t in texts + [whole_spine["label"]]), \
        "a CES whole-spine MRI is not requested as metastatic cord compression"


def test_thoracic_cord_signs_are_imaged_in_the_cervical_and_thoracic_spine(replies):
    mye = card(replies, "r08-thoracic-pain-umn-leg-numbness", "cervical-myelopathy")
    assert "thoracic" in mye["summary"]
    assert [codes for codes, _ in orders(mye)[0]] == [{"72141"}, {"72146"}]
    assert "- Thoracic back pain: " in mye["detail"] and "- Neck pain: " not in mye["detail"], "thoracic pain is not neck pain"


def test_long_term_prednisolone_from_the_medication_record_is_a_fracture_risk(replies):
    rf1 = card(replies, "r04-prednisolone-two-years-back-pain", "serious-spinal-pathology")
    assert "long-term steroids" in rf1["summary"] and "in use for 90 days or more" in rf1["detail"]
    triggers = rf1["detail"].split("**Triggered by:**")[1].split("\n\n**")[0]
    assert "- Systemic corticosteroids: prednisolone, in use since " in triggers, "the card names the drug that fired it"
    assert "(MedicationStatement)" in triggers


def test_a_drafted_spine_mri_for_fracture_risk_is_not_ordered_again(replies):
    rf1 = card(replies, "r12-osteoporosis-lumbar-mri-signed", "serious-spinal-pathology")
    assert "being ordered is appropriate" in rf1["summary"]
    assert "suggestions" not in rf1


def test_trauma_with_a_deficit_is_critical_with_the_emergency_referral(replies):
    rf1 = card(replies, "r13-car-crash-new-leg-weakness", "serious-spinal-pathology")
    assert rf1["indicator"] == "critical"
    assert orders(rf1) == [[(EMERGENCY_REFERRAL, "stat")]]


def test_twitching_with_weakness_in_a_radicular_limb_is_never_reassured(replies):
    topics = {c["source"]["topic"]["code"] for c in replies["r07-twitching-leg-weakness-l5-radiculopathy"]["cards"]}
    assert "fasciculation-with-weakness" in topics and "benign-fasciculation" not in topics
    weak = card(replies, "r07-twitching-leg-weakness-l5-radiculopathy", "fasciculation-with-weakness")
    assert "never reassured as benign" in weak["detail"]


def test_benign_twitch_card_without_an_exam_claims_only_what_is_recorded(replies):
    ben = card(replies, "r14-young-twitching-no-exam", "benign-fasciculation")
    assert "no weakness or wasting recorded" in ben["summary"] and "without weakness" not in ben["summary"]


def test_remote_cancer_asks_about_metastasis_features_before_the_mri(replies):
    """Design choice rf1-remote-cancer: the whole-spine MRI is offered, not recommended, until a feature is found."""
    rf1 = card(replies, "r17-breast-cancer-12-years-remission-back-pain", "serious-spinal-pathology")
    assert rf1["summary"].startswith("Spinal pain with a past cancer: ask about") and "pain on straining" in rf1["detail"]
    assert [s.get("isRecommended", False) for s in rf1["suggestions"]] == [False]


def test_myelopathy_symptoms_without_an_exam_ask_for_one_and_order_nothing(replies):
    """Design choice mye1-examine-symptoms-only: examine first, no MRI yet, no conservative care."""
    mye = card(replies, "r18-neck-pain-clumsy-numb-hands-unsteady", "cervical-myelopathy")
    assert "examine for cervical myelopathy" in mye["summary"] and "suggestions" not in mye
    assert "conservative-management" not in {c["source"]["topic"]["code"] for c in replies["r18-neck-pain-clumsy-numb-hands-unsteady"]["cards"]}
