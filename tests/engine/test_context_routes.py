"""The CLINICAL §6 routes on the real card library and engine, one clause at a time: cord compression
context (§6.1), the infection route from measured data with its post-operative and obstetric caveats
(§6.2, §6.14), and rapidly progressive weakness (§6.3, §6.14)."""
from __future__ import annotations

from tests.helpers.engine import topic_cards
from tests.helpers.findings import (
    CPT,
    ICD,
    LEFT,
    LOINC,
    LOWER_LIMB,
    PATIENT_ID,
    RIGHT,
    SNOMED,
    UPPER_LIMB,
    ago,
    body_site,
    condition,
    observation,
)

SERIOUS, ANW, CES, CES2 = "serious-spinal-pathology", "acute-neuromuscular-weakness", "cauda-equina-emergency", "cauda-equina-urgent"
WEAKNESS = (SNOMED, "26544005")


cards = topic_cards


def cond(rid: str, code: str, days: int, **fields) -> dict:
    return condition(rid, (ICD, code), onsetDateTime=ago(days), **fields)


def procedure(rid: str, system: str, code: str, days: int) -> dict:
    return {"resourceType": "Procedure", "id": rid, "status": "completed", "code": {"coding": [{"system": system, "code": code}]},
            "subject": {"reference": f"Patient/{PATIENT_ID}"}, "performedDateTime": ago(days)}


def measured(rid: str, code: str, value: float, unit: str, days: float = 0, **fields) -> dict:
    return observation(rid, (LOINC, code), days=days, valueQuantity={"value": value, "unit": unit}, **fields)


def fever(rid: str = "t", value: float = 38.6, days: float = 0) -> dict:
    return measured(rid, "8310-5", value, "Cel", days)


def crp(rid: str, value: float, days: float) -> dict:
    return measured(rid, "1988-5", value, "mg/L", days, referenceRange=[{"high": {"value": 5, "unit": "mg/L"}}])


def weak(rid: str, grade: int, days: float, *sites) -> dict:
    return observation(rid, WEAKNESS, days=days, bodySite=body_site(*sites), valueQuantity={"value": grade, "unit": "MRC grade"})


BACK_PAIN = cond("lbp", "M54.50", 60)


# ---- §6.1 cord compression -------------------------------------------------------------------
def test_new_retention_with_neck_pain_or_a_sensory_level_is_critical_whole_spine_not_ces2():
    for context in (cond("neck", "M54.2", 4), observation("lvl", ("http://example.org/nerve-cds/CodeSystem/local-finding", "sensory-level"))):
        found = cards(context, cond("ret", "R33.9", 1))
        assert found[CES]["indicator"] == "critical" and CES2 not in found
        assert "whole spine" in found[CES]["summary"]


def test_isolated_retention_with_no_spinal_context_stays_ces2():
    found = cards(cond("ret", "R33.9", 1))
    assert CES not in found and found[CES2]["indicator"] == "warning"


def test_a_spinal_infection_beside_a_ces_flag_gets_the_contrast_whole_spine_on_the_ces_card_only():
    found = cards(cond("ret", "R33.9", 1), BACK_PAIN, cond("abs", "G06.1", 2, verification="provisional"))
    mri = [a for c in found.values() for s in c.get("suggestions", []) for a in s["actions"]
           if a["type"] == "create" and a["resource"]["code"]["coding"][0]["code"].startswith("721")]
    assert sorted(a["resource"]["code"]["coding"][0]["code"] for a in mri) == ["72156", "72157", "72158"]


# ---- §6.2 infection from measured data, §6.14 caveats ----------------------------------------
def test_back_pain_with_a_measured_fever_or_raised_crp_raises_the_infection_card():
    assert cards(BACK_PAIN, fever())[SERIOUS]["indicator"] == "warning"
    assert cards(BACK_PAIN, crp("c", 60, 1))[SERIOUS]["indicator"] == "warning"


def test_a_raised_white_count_alone_does_not_but_is_listed_beside_another_feature():
    wbc = measured("w", "6690-2", 16, "10*9/L", 1)
    assert SERIOUS not in cards(BACK_PAIN, wbc)
    assert "Raised white cell count" in cards(BACK_PAIN, wbc, fever())[SERIOUS]["detail"]


def test_fever_in_the_first_postoperative_days_does_not_count_and_later_it_does():
    surgery = procedure("op", CPT, "63030", 10)
    assert SERIOUS not in cards(BACK_PAIN, surgery, fever(days=7)), "3 days after the operation"
    assert SERIOUS in cards(BACK_PAIN, surgery, fever(days=2)), "8 days after the operation"


def test_a_postoperative_crp_counts_only_if_rising_with_a_wound_infection_or_after_the_window():
    surgery = procedure("op", CPT, "22612", 8)
    assert SERIOUS not in cards(BACK_PAIN, surgery, crp("c1", 90, 2)), "day 6, single raised CRP"
    assert SERIOUS in cards(BACK_PAIN, surgery, crp("c1", 60, 4), crp("c2", 90, 1)), "rising on a repeat"
    assert SERIOUS in cards(BACK_PAIN, surgery, crp("c1", 90, 2), cond("wound", "T81.41XA", 1))
    assert SERIOUS in cards(BACK_PAIN, procedure("op", CPT, "22612", 20), crp("c1", 90, 2)), "day 18"


def test_an_imaging_order_beside_an_uncounted_early_postoperative_fever_names_the_fever_as_found():
    mri = {"resourceType": "ServiceRequest", "id": "mri", "status": "draft", "intent": "order",
           "subject": {"reference": f"Patient/{PATIENT_ID}"}, "code": {"coding": [{"system": CPT, "code": "72148"}]}}
    found = cards(cond("lbp", "M54.50", 20), procedure("op", CPT, "22612", 2), fever(), draft=mri)
    assert SERIOUS not in found
    advice = found["imaging-not-indicated"]
    assert f"**Found there:** temperature 38.6 °C ({ago(0)}, raised)" in advice["detail"]
    assert "- Measured fever: Body temperature, 38.6 Cel" in advice["detail"]
    asked = advice["detail"].split("**Ask about:**")[1]
    assert "fever" not in asked and not advice.get("suggestions"), "no 'ask about fever', no removal"


def test_an_imaging_order_beside_a_fever_older_than_the_infection_window_is_not_removed():
    """§6.2 Must not, review r3-55 on an order hook: a fever nine days ago (outside fever_lookback_days,
    so no infection card) is named, the card says why it did not count, and the MRI order is kept."""
    mri = {"resourceType": "ServiceRequest", "id": "mri", "status": "draft", "intent": "order",
           "subject": {"reference": f"Patient/{PATIENT_ID}"}, "code": {"coding": [{"system": CPT, "code": "72148"}]}}
    found = cards(cond("lbp", "M54.50", 12), fever(days=9), draft=mri)
    assert SERIOUS not in found
    advice = found["imaging-not-indicated"]
    assert f"temperature 38.6 °C ({ago(9)}, raised)" in advice["detail"] and "more than 7 days ago" in advice["detail"]
    assert not advice.get("suggestions"), "no replacement of the imaging order"
    assert "fever" not in advice["detail"].split("**Ask about:**")[1]


def test_recent_spinal_surgery_counts_with_pain_documented_after_the_first_days_only():
    pain_before = cond("lbp", "M54.50", 40)
    assert SERIOUS not in cards(pain_before, procedure("op", CPT, "63030", 30))
    assert SERIOUS in cards(pain_before, procedure("op", CPT, "63030", 30), cond("lbp2", "M54.50", 10))
    assert SERIOUS not in cards(cond("lbp2", "M54.50", 10), procedure("op", CPT, "63030", 120)), "beyond 90 days"


def test_a_labour_epidural_counts_only_with_new_back_pain_and_a_fever_or_new_deficit():
    epidural = procedure("epi", SNOMED, "397990008", 20)
    new_pain = cond("lbp", "M54.50", 10)
    assert SERIOUS not in cards(epidural, new_pain), "the window alone is not enough"
    assert SERIOUS in cards(epidural, new_pain, fever())
    assert SERIOUS in cards(epidural, new_pain, weak("w", 3, 2, LOWER_LIMB, LEFT))


def test_a_suspected_abscess_is_critical_only_with_a_new_or_progressive_deficit():
    abscess = cond("abs", "G06.2", 3, verification="provisional")
    assert cards(BACK_PAIN, abscess)[SERIOUS]["indicator"] == "warning"
    found = cards(BACK_PAIN, abscess, weak("w", 3, 1, LOWER_LIMB, LEFT))
    assert found[SERIOUS]["indicator"] == "critical" and "progressive-deficit" not in found
    assert SERIOUS in cards(BACK_PAIN, cond("abs", "G06.2", 3, verification="refuted"), fever()), "fever still counts"
    assert cards(BACK_PAIN, cond("abs", "G06.2", 3, verification="refuted"),
                 weak("w", 3, 1, LOWER_LIMB, LEFT)).get(SERIOUS) is None, "a refuted abscess never counts"


# ---- §6.3 rapidly progressive weakness -------------------------------------------------------
def test_a_generalised_weakness_code_alone_is_not_rapidly_progressive():
    assert ANW not in cards(cond("w", "M62.81", 3))


def test_worsening_in_one_limb_is_not_enough_and_in_two_limbs_is():
    one = [weak("a", 4, 6, LOWER_LIMB, LEFT), weak("b", 2, 1, LOWER_LIMB, LEFT)]
    assert ANW not in cards(*one)
    found = cards(*one, weak("c", 4, 6, UPPER_LIMB, RIGHT), weak("d", 3, 1, UPPER_LIMB, RIGHT))
    assert found[ANW]["indicator"] == "critical"


def test_worsening_that_began_before_the_window_is_not_rapid():
    slow = [weak("a", 4, 60, LOWER_LIMB, LEFT), weak("b", 3, 1, LOWER_LIMB, LEFT),
            weak("c", 4, 60, LOWER_LIMB, RIGHT), weak("d", 3, 1, LOWER_LIMB, RIGHT)]
    assert ANW not in cards(*slow)


def test_a_recent_guillain_barre_diagnosis_counts_and_an_old_one_does_not():
    assert cards(cond("gbs", "G61.0", 5))[ANW]["indicator"] == "critical"
    assert ANW not in cards(cond("gbs", "G61.0", 200))


def test_with_a_cord_sign_the_weakness_card_orders_the_contrast_whole_spine_mri_once():
    found = cards(cond("gbs", "G61.0", 5), cond("ret", "R33.9", 1), cond("lbp", "M54.50", 3))
    assert found[ANW]["indicator"] == "critical" and "myelopathy" in found[ANW]["summary"]
    made = [a["resource"]["code"]["coding"][0]["code"] for c in found.values() for s in c.get("suggestions", [])
            for a in s["actions"] if a["type"] == "create"]
    assert sorted(m for m in made if m.startswith("721")) == ["72156", "72157", "72158"]
    assert found[CES]["indicator"] == "critical", "the cauda equina card is never removed"


def test_a_sphincter_symptom_coded_shortly_before_the_pain_belongs_to_the_episode():
    """Retention 20 days ago, sciatica coded today: the same illness (ces_flag_lead_days), so at
    least the urgent CES card, never routine advice saying no flag is recorded. Found by the
    independent integration tester (S54)."""
    shown = cards(cond("ret", "R33.9", 20), cond("sci", "M54.16", 0))
    assert CES2 in shown or CES in shown
    assert "conservative-management" not in shown


def test_a_sphincter_symptom_from_long_before_the_pain_is_not_this_episode():
    shown = cards(cond("ret", "R33.9", 400), cond("sci", "M54.16", 0))
    assert CES2 not in shown and CES not in shown


def test_every_mri_a_card_suggests_for_a_patient_with_an_implant_says_mr_safety_first():
    """A pacemaker (Z95.0) changes how the infection card's MRI is done, not whether: the card says
    MR-safety screening first, CT otherwise. Found by the independent clinical reviewer (P50)."""
    remark = "MRI only after MR-safety screening"
    with_pacemaker = cards(cond("lbp", "M54.50", 6), cond("pm", "Z95.0", 900), fever())
    without = cards(cond("lbp", "M54.50", 6), fever())
    assert remark in with_pacemaker[SERIOUS]["detail"] and remark not in without[SERIOUS]["detail"]
    assert with_pacemaker[SERIOUS]["indicator"] == without[SERIOUS]["indicator"], "the indication is unchanged"
