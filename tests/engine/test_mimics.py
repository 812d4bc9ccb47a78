"""Known mimics and explaining diagnoses on the real card library and engine, one clause at a time
(CLINICAL §6.4, §6.5, §6.8, §6.10, §6.11, §6.14): what each context adds or takes away, and what it
must leave standing."""
from __future__ import annotations

import pytest

from tests.helpers.engine import topic_cards
from tests.helpers.findings import (
    CPT,
    ICD,
    LEFT,
    LOWER_LIMB,
    NOW,
    PATIENT_ID,
    RIGHT,
    SNOMED,
    ago,
    body_site,
    condition,
    observation,
)

SERIOUS, VASCULAR, CES, CES2, MYE, NCR = ("serious-spinal-pathology", "vascular-mimic", "cauda-equina-emergency",
                                          "cauda-equina-urgent", "cervical-myelopathy", "non-compressive-radicular-pain")
HYPERREFLEXIA, FOOT_NUMB = (SNOMED, "86854008"), (SNOMED, "309538000")


def cards(*resources: dict, birth: str = "1970-03-01", draft: dict | None = None) -> dict[str, dict]:
    return topic_cards(*resources, birth=birth, draft=draft)


def cond(rid: str, code: str, days: int) -> dict:
    return condition(rid, (ICD, code), onsetDateTime=ago(days))


def sign(rid: str, days: int, *sides: tuple[str, str], **fields) -> dict:
    extra = {"bodySite": body_site(*sides)} if sides else {}
    return observation(rid, HYPERREFLEXIA, days=days, valueBoolean=True, **extra, **fields)


def created(card: dict) -> set[str]:
    return {c["code"] for s in card.get("suggestions", []) for a in s["actions"] if a["type"] == "create"
            for c in a["resource"]["code"]["coding"]}


# ---- §6.4 rigid spine and the older neck -------------------------------------------------------

@pytest.mark.parametrize("rigid", [[cond("as", "M45.9", 3000)], [cond("dish", "M48.16", 3000)],
                                   [cond("fus", "Z98.1", 800),
                                    {"resourceType": "Procedure", "id": "p", "status": "completed",
                                     "subject": {"reference": f"Patient/{PATIENT_ID}"},
                                     "code": {"coding": [{"system": CPT, "code": "22612"}]}, "performedDateTime": ago(800)}]])
def test_a_fall_in_a_rigid_spine_at_any_age_is_a_same_day_ct_never_conservative_care(rigid):
    shown = cards(*rigid, cond("fall", "W19.XXXA", 2), cond("lbp", "M54.50", 2), birth="1990-01-01")
    assert shown[SERIOUS]["indicator"] == "warning" and "rigid spine" in shown[SERIOUS]["summary"]
    assert created(shown[SERIOUS]) == {"306104004", "72131"}
    assert "conservative-management" not in shown


def test_arthrodesis_status_without_a_spinal_fusion_is_not_a_rigid_spine():
    shown = cards(cond("fus", "Z98.1", 800), cond("fall", "W19.XXXA", 2), cond("lbp", "M54.50", 2), birth="1990-01-01")
    assert SERIOUS not in shown


def test_non_radiographic_axial_spondyloarthritis_is_not_a_rigid_spine():
    shown = cards(cond("axspa", "M45.A6", 3000), cond("fall", "W19.XXXA", 2), cond("lbp", "M54.50", 2), birth="1990-01-01")
    assert SERIOUS not in shown


def test_a_rigid_spine_injury_with_a_deficit_is_critical_and_neck_pain_gets_the_cervical_ct():
    shown = cards(cond("as", "M45.2", 3000), cond("fall", "W19.XXXA", 1), cond("neck", "M54.2", 1),
                  observation("w", (SNOMED, "26544005"), days=0, bodySite=body_site(LOWER_LIMB, LEFT)))
    assert shown[SERIOUS]["indicator"] == "critical"
    assert created(shown[SERIOUS]) == {"306104004", "72125"}


def test_an_urgent_cervical_ct_drafted_for_an_injured_rigid_spine_is_kept():
    draft = {"resourceType": "ServiceRequest", "id": "ct", "status": "draft", "intent": "order", "priority": "urgent",
             "code": {"coding": [{"system": CPT, "code": "72125"}]}, "subject": {"reference": f"Patient/{PATIENT_ID}"}}
    shown = cards(cond("as", "M45.2", 3000), cond("fall", "W01.0XXA", 1), cond("neck", "M54.2", 1), draft=draft)
    assert "appropriate" in shown[SERIOUS]["summary"]
    actions = [a for c in shown.values() for s in c.get("suggestions", []) for a in s["actions"]]
    assert not [a for a in actions if a["type"] == "delete"] and "imaging-not-indicated" not in shown


def test_neck_pain_after_a_fall_at_65_is_a_cervical_ct_and_at_64_is_not():
    older = cards(cond("fall", "W19.XXXA", 2), cond("neck", "M54.2", 2), birth=f"{NOW.year - 66}-01-01")
    younger = cards(cond("fall", "W19.XXXA", 2), cond("neck", "M54.2", 2), birth=f"{NOW.year - 63}-01-01")
    assert created(older[SERIOUS]) == {"72125"}
    assert SERIOUS not in younger


# ---- §6.5 vascular mimic -------------------------------------------------------------------------

@pytest.mark.parametrize("aneurysm", ["I71.40", "I71.21", "I71.61", "I71.010", "Q87.410"])
def test_new_back_pain_with_a_known_aneurysm_is_a_vascular_warning_with_an_emergency_referral(aneurysm):
    shown = cards(cond("a", aneurysm, 900), cond("lbp", "M54.50", 1))
    assert shown[VASCULAR]["indicator"] == "warning"
    assert created(shown[VASCULAR]) == {"306104004"}
    assert "conservative-management" not in shown
    assert not [c for c in shown.values() if "nsaid" in c["summary"].lower() or "reassur" in c["summary"].lower()]


def test_long_standing_back_pain_with_an_aneurysm_asks_for_surveillance_and_still_no_conservative_card():
    shown = cards(cond("a", "I71.40", 900), cond("lbp", "M54.50", 200))
    assert "surveillance" in shown[VASCULAR]["summary"] and not created(shown[VASCULAR])
    assert "conservative-management" not in shown


def test_flank_pain_with_an_aneurysm_counts():
    assert VASCULAR in cards(cond("a", "I71.40", 900), cond("flank", "R10.A2", 1))


# ---- §6.8, §6.14: explaining polyneuropathy and peripheral arterial disease ---------------------

def numb_feet(days: int) -> list[dict]:
    return [observation(f"n{n}", FOOT_NUMB, days=days, valueBoolean=True, bodySite=body_site(LOWER_LIMB, side))
            for n, side in enumerate((LEFT, RIGHT))]


def test_numb_feet_with_a_coded_polyneuropathy_is_not_ces2_without_it_it_is():
    back = cond("lbp", "M54.50", 400)
    assert CES2 not in cards(cond("dm", "E11.42", 2000), back, *numb_feet(3))
    assert CES2 in cards(back, *numb_feet(3))


def test_guillain_barre_never_explains_bilateral_numbness():
    assert CES2 in cards(cond("gbs", "G61.0", 400), cond("lbp", "M54.50", 400), *numb_feet(3))


def test_a_polyneuropathy_never_explains_a_sphincter_flag_or_bilateral_leg_weakness():
    back = cond("lbp", "M54.50", 400)
    retention = cond("ret", "R33.9", 2)
    assert CES in cards(cond("dm", "E11.42", 2000), back, retention, *numb_feet(3))
    weak = [observation(f"w{n}", (SNOMED, "26544005"), days=3, bodySite=body_site(LOWER_LIMB, side))
            for n, side in enumerate((LEFT, RIGHT))]
    assert CES in cards(cond("dm", "E11.42", 2000), cond("lbp", "M54.50", 400), *weak)


def test_leg_pain_on_walking_with_coded_arterial_disease_is_not_ces2_unless_a_sphincter_flag():
    legs = [cond("r", "M79.604", 20), cond("l", "M79.605", 20), cond("lbp", "M54.50", 500)]
    assert CES2 not in cards(cond("pad", "I73.9", 700), *legs)
    assert CES2 in cards(*legs)
    assert CES2 in cards(cond("pad", "I73.9", 700), cond("inc", "R32", 60), *legs)


# ---- §6.10 zoster ----------------------------------------------------------------------------------

def test_post_herpetic_dermatomal_pain_gets_neuropathic_advice_and_no_mri():
    shown = cards(cond("z", "B02.29", 120), cond("rad", "M54.14", 120))
    assert NCR in shown and "radiculopathy-imaging" not in shown
    without = cards(cond("rad", "M54.14", 120))
    assert "radiculopathy-imaging" in without


@pytest.mark.parametrize("exception", [cond("ret", "R33.9", 2), cond("hiv", "B20", 300), cond("ca", "Z85.3", 400),
                                       observation("w", (SNOMED, "26544005"), days=1)])
def test_zoster_does_not_explain_the_pain_beside_an_exception(exception):
    assert NCR not in cards(cond("z", "B02.29", 120), cond("rad", "M54.14", 120), exception)


def test_postherpetic_myelitis_is_never_an_explaining_code():
    assert NCR not in cards(cond("z", "B02.24", 120), cond("rad", "M54.14", 120))


# ---- §6.11 UMN signs and a known brain lesion --------------------------------------------------

STROKE_RIGHT = cond("cva", "I69.351", 1100)
NECK = cond("neck", "M54.2", 300)


def test_a_same_side_sign_since_an_old_stroke_does_not_raise_myelopathy():
    assert MYE not in cards(STROKE_RIGHT, NECK, sign("s1", 1050, RIGHT), sign("s2", 5, RIGHT))


@pytest.mark.parametrize("signs", [
    [sign("s1", 1050, RIGHT), sign("s2", 5, LEFT)],          # both sides
    [sign("s1", 5, LEFT)],                                   # the other side
    [sign("s1", 5)],                                         # no side recorded
    [sign("s1", 10, RIGHT)],                                 # first recorded years after the stroke
    [sign("s1", 1050, RIGHT), sign("s2", 5, RIGHT, interpretation=[{"coding": [
        {"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation", "code": "W"}]}])],  # worse
])
def test_signs_the_stroke_does_not_explain_still_raise_myelopathy(signs):
    assert MYE in cards(STROKE_RIGHT, NECK, *signs)


def test_a_same_side_sign_unchanged_for_years_but_first_recorded_late_is_the_strokes_own():
    """§6.11: first documentation is not onset; a one-sided sign recorded unchanged for years is explained."""
    assert MYE not in cards(STROKE_RIGHT, NECK, sign("s1", 800, RIGHT), sign("s2", 0, RIGHT))


def test_a_same_side_sign_that_appeared_after_a_normal_record_since_the_stroke_still_counts():
    normal = observation("s0", HYPERREFLEXIA, days=850, valueBoolean=False, bodySite=body_site(RIGHT))
    assert MYE in cards(STROKE_RIGHT, NECK, normal, sign("s1", 800, RIGHT), sign("s2", 0, RIGHT))


def test_new_hand_clumsiness_beside_an_explained_sign_still_raises_myelopathy():
    clumsy = condition("cl", (SNOMED, "306741005"), onsetDateTime=ago(20))
    shown = cards(STROKE_RIGHT, NECK, sign("s1", 1050, RIGHT), clumsy)
    assert MYE in shown
