"""CES-1 / CES-2 precision (docs/clinical-safety.md, §5.3) through the real card library and engine:
recency and spinal context for bilateral symptoms, saddle sites, retention vs LUTS, sexual
dysfunction new in the episode, known CES, and the emergency card's content."""
from __future__ import annotations

from cds_service.engine.advise import advise
from tests.helpers.apps import shipped_library
from tests.helpers.findings import (
    BUTTOCK,
    CPT,
    ICD,
    LEFT,
    LOWER_LIMB,
    NOW,
    PATIENT_ID,
    RIGHT,
    RIGHT_AND_LEFT,
    SNOMED,
    ago,
    body_site,
    condition,
    patient,
    searchset,
    symptom,
)

EMERGENCY, URGENT = "cauda-equina-emergency", "cauda-equina-urgent"
NUMBNESS = (SNOMED, "44077006")


def cards(*resources: dict, hook: str = "patient-view") -> dict[str, dict]:
    """topic -> card, for these resources on the real engine."""
    lib = shipped_library()
    data: dict = {"patient": patient()}
    for rtype in {r["resourceType"] for r in resources}:
        data[rtype] = searchset(*(r for r in resources if r["resourceType"] == rtype))
    context = {"patientId": PATIENT_ID, "userId": "Practitioner/a", "hookInstance": "ces-precision"}
    advice = advise(lib, lib.service(f"nerve-cds-{hook}"), context, data, NOW)
    return {c["source"]["topic"]["code"]: c for c in advice.cards}


def cond(rid: str, code: str, days: int, system: str = ICD, **fields) -> dict:
    return condition(rid, (system, code), onsetDateTime=ago(days), **fields)


def procedure(rid: str, code: str, days: int) -> dict:
    return {"resourceType": "Procedure", "id": rid, "status": "completed", "code": {"coding": [{"system": CPT, "code": code}]},
            "subject": {"reference": f"Patient/{PATIENT_ID}"}, "performedDateTime": ago(days)}


# ---- bilateral leg symptoms: new or progressive deficit, spinal context (§5.2) -------------------
def test_bilateral_leg_pain_with_chronic_walking_difficulty_is_not_ces():
    found = cards(cond("l", "M79.604", 400), cond("r", "M79.605", 380), cond("g", "R26.2", 300))
    assert EMERGENCY not in found and URGENT not in found


def test_bilateral_leg_pain_with_new_walking_difficulty_is_ces_emergency():
    assert EMERGENCY in cards(cond("l", "M79.604", 400), cond("r", "M79.605", 380), cond("g", "R26.2", 5))


def test_bilateral_sciatica_is_urgent_while_recent_and_not_once_chronic():
    assert URGENT in cards(cond("l", "M54.41", 60), cond("r", "M54.42", 20))
    assert URGENT not in cards(cond("l", "M54.41", 400), cond("r", "M54.42", 200))


def test_newly_bilateral_counts_from_the_second_side():
    """Left sciatica for a year, the right side 10 days: bilateral is new."""
    assert URGENT in cards(cond("l", "M54.42", 365), cond("r", "M54.41", 10))


def test_recent_bilateral_leg_pain_of_neurogenic_claudication_is_not_urgent_ces():
    assert URGENT in cards(cond("l", "M79.604", 30), cond("r", "M79.605", 30))
    assert URGENT not in cards(cond("l", "M79.604", 30), cond("r", "M79.605", 30), cond("s", "M48.062", 30))


def test_bilateral_numbness_needs_spinal_context():
    feet = [symptom(f"n{i}", (SNOMED, "309538000"), value=True, days=3, bodySite=body_site(LOWER_LIMB, side))
            for i, side in enumerate((LEFT, RIGHT))]
    assert not {EMERGENCY, URGENT} & set(cards(*feet, cond("dm", "E11.42", 2000), cond("g", "R26.81", 4)))
    assert EMERGENCY in cards(*feet, cond("lbp", "M54.50", 5), cond("g", "R26.81", 4))
    assert URGENT in cards(*feet, cond("lbp", "M54.50", 5))


# ---- saddle: perineal, perianal, genital; buttock only on both sides ---------------------------
def test_one_numb_buttock_with_s1_radiculopathy_is_not_ces():
    found = cards(cond("r", "M54.17", 10), symptom("b", NUMBNESS, value=True, days=2, bodySite=body_site(BUTTOCK, RIGHT)))
    assert not {EMERGENCY, URGENT} & set(found)


def test_both_buttocks_numb_is_saddle_anaesthesia():
    found = cards(cond("r", "M54.17", 10), symptom("b", NUMBNESS, value=True, days=2, bodySite=body_site(BUTTOCK, RIGHT_AND_LEFT)))
    assert found[EMERGENCY]["indicator"] == "critical"


# ---- retention is retention -----------------------------------------------------------------------
def test_lower_urinary_tract_symptoms_are_not_red_flags():
    for code in ("R39.11", "R39.12", "R39.14"):
        assert not {EMERGENCY, URGENT} & set(cards(cond("lbp", "M54.50", 8), cond("u", code, 3))), code
    assert EMERGENCY in cards(cond("lbp", "M54.50", 8), cond("u", "R33.9", 3))


def test_no_voiding_symptom_code_sits_in_the_retention_value_set():
    codes = {code for _, code in shipped_library().terminology.codes("urinary-retention")}
    assert not codes & {"R39.11", "R39.12", "R39.13", "R39.14", "R39.16", "162128006", "249288007", "307541003"}


# ---- sexual dysfunction: new in the current back-pain episode -----------------------------------
def test_new_sexual_dysfunction_male_or_female_is_a_red_flag():
    for code, system in (("N52.9", ICD), ("R37", ICD), ("28154007", SNOMED), ("19782003", SNOMED)):
        assert EMERGENCY in cards(cond("lbp", "M54.50", 10), cond("sd", code, 3, system=system)), code


def test_long_standing_erectile_dysfunction_is_not_a_red_flag():
    assert not {EMERGENCY, URGENT} & set(cards(cond("lbp", "M54.50", 10), cond("ed", "N52.9", 1500)))


def test_erectile_dysfunction_without_an_onset_is_not_new():
    undated = condition("ed", (ICD, "N52.9"))
    assert not {EMERGENCY, URGENT} & set(cards(cond("lbp", "M54.50", 10), undated))


def test_sexual_dysfunction_begun_within_the_episode_and_stable_is_urgent():
    assert URGENT in cards(cond("lbp", "M54.50", 40), cond("ed", "N52.9", 25))
    assert URGENT not in cards(cond("lbp", "M54.50", 40), cond("ed", "N52.9", 60))


# ---- known CES ------------------------------------------------------------------------------------
def test_recent_ces_diagnosis_fires():
    assert EMERGENCY in cards(cond("ces", "G83.4", 20))


def test_ces_diagnosed_long_ago_is_known():
    assert EMERGENCY not in cards(cond("ces", "G83.4", 1000), cond("lbp", "M54.50", 5))


def test_ces_decompressed_since_its_onset_is_known_on_order_hooks_too():
    record = (cond("ces", "G83.4", 20), procedure("p", "63005", 19))
    assert EMERGENCY not in cards(*record)
    assert EMERGENCY not in cards(*record, hook="order-sign")


def test_ces_after_an_older_decompression_is_new():
    assert EMERGENCY in cards(cond("ces", "G83.4", 5), procedure("p", "63030", 800))


def test_known_ces_recorded_as_worsening_fires():
    worse = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation", "code": "W"}]}
    assert EMERGENCY in cards(cond("ces", "G83.4", 1000, severity=worse))


def test_known_ces_with_a_new_red_flag_fires():
    found = cards(cond("ces", "G83.4", 1000), cond("lbp", "M54.50", 5), cond("u", "R33.9", 2))
    assert EMERGENCY in found and "Retention of urine" in found[EMERGENCY]["detail"]


# ---- R29.2 is not an upper motor neuron sign -----------------------------------------------------
def test_abnormal_reflex_is_not_an_upper_motor_neuron_sign():
    assert ("http://hl7.org/fhir/sid/icd-10-cm", "R29.2") not in shipped_library().terminology.codes("upper-motor-neuron-sign")


# ---- card content (§5.3) -------------------------------------------------------------------------
def created(card: dict) -> list[dict]:
    return [a["resource"] for s in card.get("suggestions", []) for a in s["actions"] if a["type"] == "create"]


def coded(resource: dict) -> set[str]:
    return {c["code"] for c in resource["code"]["coding"]}


def test_emergency_card_says_catheterise_and_never_reassure_and_offers_referral_and_stat_mri():
    card = cards(cond("lbp", "M54.50", 8), cond("u", "R33.9", 1))[EMERGENCY]
    assert "catheterise and record the residual" in card["detail"]
    assert "Do not discharge or reassure on a normal bladder scan or examination alone" in card["detail"]
    orders = created(card)
    assert any("72148" in coded(r) and r["priority"] == "stat" for r in orders)
    assert any("306104004" in coded(r) for r in orders), "emergency department referral"
    assert card["selectionBehavior"] == "any"


def test_urgent_card_suggests_an_urgent_lumbar_mri():
    card = cards(cond("l", "M54.41", 20), cond("r", "M54.42", 20))[URGENT]
    (mri,) = created(card)
    assert "72148" in coded(mri) and mri["priority"] == "urgent"


def test_ces_cards_cite_publishers_only():
    found = cards(cond("lbp", "M54.50", 8), cond("u", "R33.9", 1))
    urls = [link["url"] for link in found[EMERGENCY]["links"]]  # cited once, as links (issue #18)
    assert any(u.startswith("https://bestpractice.bmj.com/topics/en-gb/3000164") for u in urls)
    assert not any("bibliotheek" in u for u in urls)
