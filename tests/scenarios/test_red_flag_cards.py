"""RF-1 (serious spinal pathology) and MYE-1 (cervical myelopathy) cards, docs/clinical-safety.md: what each
scenario's card must say and order, the PAMA rating an order hook gives, and the two findings rules
behind them (a past cancer counts; R29.2 is not an upper motor neuron sign). Real app, real FHIR server."""
from __future__ import annotations

import pytest
import yaml

from cds_service.core.settings import Settings
from cds_service.engine.pama import RATING_EXTENSION
from tests.helpers.apps import new_app
from tests.helpers.findings import ICD, SNOMED, condition
from tests.helpers.findings import run as findings_of
from tests.helpers.scenarios import card, fetched_replies, orders

SETTINGS = Settings()
CPT = "http://www.ama-assn.org/go/cpt"
SIDS = ["s15-prostate-cancer-weight-loss-back-pain", "s16-breast-cancer-back-pain-new-leg-weakness",
        "s17-osteoporosis-fall-back-pain", "s18-fever-iv-drug-use-back-pain", "s20-cervical-myelopathy-hands",
        "o13-lumbar-mri-cancer-back-pain", "o14-cervical-mri-myelopathy", "x19-rf1-high-energy-trauma",
        "x20-rf1-fall-older-neck-pain"]


@pytest.fixture(scope="module")
def app(fhir_base_url, tmp_path_factory):
    return new_app(Settings(dev=True, auth_enabled=False, fhir_allowlist=(fhir_base_url,), pama_system_actions=True,
                            database_url=f"sqlite:///{tmp_path_factory.mktemp('rf1')}/fb.db"))


@pytest.fixture(scope="module")
def replies(app, fhir_base_url):
    """scenario id -> the service's whole reply, each scenario loaded into the FHIR server and fetched."""
    return fetched_replies(app, fhir_base_url, SIDS)





def test_cancer_history_with_back_pain_whole_spine_mri_within_a_week(replies):
    rf1 = card(replies, "s15-prostate-cancer-weight-loss-back-pain", "serious-spinal-pathology")
    assert rf1["indicator"] == "warning"
    assert "MSCC coordinator" in rf1["detail"] and "within 1 week" in rf1["detail"]
    (whole_spine,) = orders(rf1)
    assert whole_spine == [({"72141"}, "urgent"), ({"72146"}, "urgent"), ({"72148"}, "urgent")]
    assert "Malignant neoplasm of prostate" in rf1["detail"], "the remission Condition is what triggered it"
    assert any(link["url"].startswith("https://www.nice.org.uk/guidance/ng234") for link in rf1["links"])


def test_cancer_with_a_new_leg_weakness_is_critical_mscc_with_mri_in_24_hours(replies):
    rf1 = card(replies, "s16-breast-cancer-back-pain-new-leg-weakness", "serious-spinal-pathology")
    assert rf1["indicator"] == "critical"
    assert "Contact the MSCC coordinator immediately" in rf1["detail"] and "24 hours" in rf1["detail"]
    (whole_spine,) = orders(rf1)
    assert [priority for _, priority in whole_spine] == ["stat"] * 3
    assert "- Motor deficit: Muscle weakness" in rf1["detail"], "the new sign is named as a trigger"


def test_fragility_fracture_offers_radiographs_or_mri_without_contrast(replies):
    rf1 = card(replies, "s17-osteoporosis-fall-back-pain", "serious-spinal-pathology")
    assert "variant 6" in rf1["detail"] and "70 or over" in rf1["detail"]
    assert orders(rf1) == [[({"72100"}, "urgent")], [({"72148"}, "routine")]]


def test_fever_and_iv_drug_use_mri_with_and_without_contrast(replies):
    rf1 = card(replies, "s18-fever-iv-drug-use-back-pain", "serious-spinal-pathology")
    assert "variant 7" in rf1["detail"] and "epidural abscess" in rf1["detail"]
    assert orders(rf1) == [[({"72158"}, "urgent")]]


def test_high_energy_trauma_says_emergency_and_ct_and_nothing_else(replies):
    rf1 = card(replies, "x19-rf1-high-energy-trauma", "serious-spinal-pathology")
    assert "emergency assessment" in rf1["summary"] and "CT" in rf1["summary"]
    assert orders(rf1) == [[({"306104004"}, "stat")]], "only the emergency referral: no outpatient fracture work-up"
    assert "variant 6" not in rf1["detail"]


def test_older_age_fall_with_neck_pain_images_the_cervical_spine(replies):
    """CLINICAL §6.4: after a fall, neck pain at cspine_trauma_age or over is CT of the cervical spine the
    same day (Canadian C-spine rule), not the fragility-fracture radiographs or a routine MRI."""
    rf1 = card(replies, "x20-rf1-fall-older-neck-pain", "serious-spinal-pathology")
    assert rf1["summary"].startswith("Neck pain") and "cervical spine" in rf1["summary"]
    assert orders(rf1) == [[({"72125"}, "stat")]]


def test_myelopathy_card_orders_cervical_mri_and_spinal_referral(replies):
    mye = card(replies, "s20-cervical-myelopathy-hands", "cervical-myelopathy")
    assert mye["selectionBehavior"] == "any"
    assert orders(mye) == [[({"72141"}, "urgent")], [({"183545006"}, "urgent")]]
    assert {link["url"] for link in mye["links"]} >= {"https://doi.org/10.1136/bmj.k186",
                                                       "https://doi.org/10.1177/2192568217701914"}
    assert not [c for c in replies["s20-cervical-myelopathy-hands"]["cards"] if "without red flags" in c["summary"]]


def test_order_hooks_rate_the_red_flag_imaging_appropriate(replies):
    for sid in ("o13-lumbar-mri-cancer-back-pain", "o14-cervical-mri-myelopathy"):
        (action,) = replies[sid]["systemActions"]
        (rating,) = [e for e in action["resource"]["extension"] if e["url"] == RATING_EXTENSION]
        assert rating["valueCodeableConcept"]["coding"][0]["code"] == "appropriate", sid
        assert "Draft order" in replies[sid]["cards"][0]["detail"], "the card names the draft it is about"


def test_a_cervical_mri_already_drafted_is_not_suggested_again(replies):
    mye = card(replies, "o14-cervical-mri-myelopathy", "cervical-myelopathy")
    assert orders(mye) == [[], [({"183545006"}, "urgent")]]  # nothing created but the referral
    (update,) = mye["suggestions"][0]["actions"]  # the routine draft made urgent, as the card's own MRI would be
    assert update["type"] == "update" and update["resource"]["priority"] == "urgent"


@pytest.mark.parametrize("status", ["active", "remission", "resolved", "inactive"])
def test_a_cancer_counts_whatever_its_clinical_status(status):
    found = findings_of(condition("c1", (ICD, "C61"), clinical=status))
    assert found.present("cancer-history")


def test_a_past_condition_counts_only_for_history_findings():
    found = findings_of(condition("c1", (ICD, "C61"), clinical="resolved"),
                        condition("c2", (ICD, "M54.50"), clinical="resolved"))
    assert found.present("cancer-history") and not found.present("low-back-pain") and not found.present("axial-pain")
    assert not findings_of(condition("c1", (ICD, "C61"), clinical="remission", verification="refuted")).present("cancer-history")


def test_non_melanoma_skin_cancer_is_not_a_cancer_history():
    assert not findings_of(condition("c1", (ICD, "C44.91"))).present("cancer-history")
    assert findings_of(condition("c1", (ICD, "C43.9"))).present("cancer-history")


def test_abnormal_reflex_is_not_a_myelopathy_sign_but_hyperreflexia_is():
    assert not findings_of(condition("c1", (ICD, "R29.2"))).present("myelopathy-sign")
    assert findings_of(condition("c1", (SNOMED, "86854008"))).present("myelopathy-sign")


def test_design_choices_name_rules_that_exist():
    settings = yaml.safe_load((SETTINGS.cards_dir / "settings.yaml").read_text(encoding="utf-8"))
    rule_ids = {rule["id"] for path in (SETTINGS.cards_dir / "rules").glob("*.yaml")
                for rule in yaml.safe_load(path.read_text(encoding="utf-8"))["rules"]}
    named = {rule for choice in settings["design_choices"].values() for rule in choice["rules"]}
    assert named and named <= rule_ids
