"""Anticoagulants as EHRs and Synthea prescribe them: a MedicationRequest coded with a clinical drug
(SCD) or branded drug (SBD), not the ingredient, still makes the patient anticoagulated, for the
NSAID caution of CONS-1 (CLINICAL §1.4) and the spinal epidural haematoma route (§6.2)."""
from __future__ import annotations

import json

import pytest

from tests.helpers.engine import topic_cards
from tests.helpers.findings import (
    ICD,
    LEFT,
    LOWER_LIMB,
    PATIENT_ID,
    RXNORM,
    SNOMED,
    ago,
    body_site,
    concept,
    condition,
    observation,
    run,
)
from tests.helpers.paths import CARDS

WARFARIN_5_MG = "855332"  # SCD warfarin sodium 5 MG Oral Tablet (Synthea heart/avrr/antithrombotic.json)
AGED_50 = "1976-03-01"  # 50 on the tests' NOW (2026-06-15)

# Every SCD / SBD the value set lists (cards/valuesets/anticoagulant.json), written out so that a
# code dropped from the value set fails here rather than vanishing from the parametrisation.
ADDED = {
    "855288": "SCD", "855302": "SCD", "855312": "SCD", "855318": "SCD", "855324": "SCD", "855332": "SCD",
    "855338": "SCD", "855344": "SCD", "855296": "SCD", "855304": "SBD", "855300": "SBD",  # warfarin
    "1364435": "SCD", "1364445": "SCD", "1364447": "SBD",  # apixaban
    "1114198": "SCD", "1232082": "SCD", "1232086": "SCD",  # rivaroxaban
    "1037179": "SCD", "1723476": "SCD", "1037045": "SCD",  # dabigatran
    "1599543": "SCD", "1599551": "SCD", "1599555": "SCD",  # edoxaban
    "854228": "SCD", "854235": "SCD", "854238": "SCD", "854241": "SCD", "854245": "SCD", "854248": "SCD",
    "854252": "SCD", "854255": "SCD",  # enoxaparin
    "1361574": "SCD", "1361615": "SCD", "1362831": "SCD", "1361048": "SCD", "1361853": "SCD", "1659260": "SCD",
    "1658634": "SCD", "1658637": "SCD", "1658647": "SCD", "1659263": "SCD", "1798389": "SCD", "2121591": "SCD",
    "1658717": "SCD", "1659195": "SCD", "1659197": "SCD",  # heparin
    "861356": "SCD", "861360": "SCD", "861363": "SCD", "861365": "SCD",  # fondaparinux
}


def order(code: str, rid: str = "mr-acg") -> dict:
    """An active MedicationRequest order for the patient, coded with one RxNorm code."""
    return {"resourceType": "MedicationRequest", "id": rid, "status": "active", "intent": "order",
            "subject": {"reference": f"Patient/{PATIENT_ID}"}, "authoredOn": ago(200),
            "medicationCodeableConcept": concept((RXNORM, code))}


def test_a_warfarin_clinical_drug_order_means_no_nsaid_first():
    back = condition("lbp", (ICD, "M54.50"), onsetDateTime=ago(60))
    leg = condition("leg", (ICD, "M79.605"), onsetDateTime=ago(60))
    plain = topic_cards(back, leg, birth=AGED_50)["conservative-management"]
    assert "no NSAID first" not in plain["detail"], "without the warfarin order an NSAID may be suggested"
    card = topic_cards(back, leg, order(WARFARIN_5_MG), birth=AGED_50)["conservative-management"]
    assert "no NSAID first" in card["detail"] and "nsaid" not in card["summary"].lower()
    assert "Anticoagulants, in use since" in card["detail"].split("**Triggered by:**")[1]


def test_a_warfarin_clinical_drug_order_opens_the_haematoma_route():
    new_pain = condition("lbp", (ICD, "M54.50"), onsetDateTime=ago(3))
    weak = observation("w", (SNOMED, "26544005"), days=1, bodySite=body_site(LOWER_LIMB, LEFT),
                       valueQuantity={"value": 3, "unit": "MRC grade"})
    assert "serious-spinal-pathology" not in topic_cards(new_pain, weak), "no anticoagulant, no haematoma card"
    card = topic_cards(order(WARFARIN_5_MG), new_pain, weak)["serious-spinal-pathology"]
    assert card["indicator"] == "critical" and "haematoma" in card["summary"]


@pytest.mark.parametrize("code", sorted(ADDED))
def test_each_clinical_or_branded_anticoagulant_is_classed_as_anticoagulant(code):
    assert "anticoagulant" in run(order(code)).medications


def test_the_list_above_is_the_value_sets_clinical_and_branded_drugs():
    data = json.loads((CARDS / "valuesets" / "anticoagulant.json").read_text())
    listed = {c["code"]: c["designation"][0]["value"] for c in data["compose"]["include"][0]["concept"]
              if c["designation"][0]["value"] != "IN"}
    assert listed == ADDED
