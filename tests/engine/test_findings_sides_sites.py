"""H6 laterality and bilaterality; body regions (saddle, limbs) from codes and bodySite."""
from __future__ import annotations

from tests.helpers.findings import (
    BUTTOCK,
    ICD,
    LEFT,
    LOWER_LIMB,
    PERINEUM,
    RIGHT,
    RIGHT_AND_LEFT,
    SNOMED,
    UPPER_LIMB,
    body_site,
    condition,
    day,
    observation,
    run,
    symptom,
)

NUMBNESS = (SNOMED, "44077006")
PARAESTHESIA = (SNOMED, "91019004")


def test_h6_right_and_left_sciatica_codes_make_it_bilateral():
    found = run(condition("r", (ICD, "M54.31"), recordedDate="2026-06-13"),
                condition("l", (ICD, "M54.32"), recordedDate="2026-06-13"))
    sciatica = found.get("sciatica")
    assert sciatica.sides == {"left", "right"} and sciatica.bilateral
    assert found.get("lower-limb-symptoms").bilateral
    assert found.get("radiculopathy-lumbar").bilateral  # sciatica is lumbar


def test_h6_one_side_is_not_bilateral():
    sciatica = run(condition("r", (ICD, "M54.31"))).get("sciatica")
    assert sciatica.sides == {"right"} and not sciatica.bilateral


def test_h6_resolved_side_does_not_count():
    found = run(condition("r", (ICD, "M54.31")), condition("l", (ICD, "M54.32"), clinical="resolved"))
    assert not found.get("sciatica").bilateral


def test_h6_leg_pain_right_and_left_codes():
    found = run(condition("r", (ICD, "M79.604")), condition("l", (ICD, "M79.605")))
    assert found.get("leg-pain").bilateral and found.get("lower-limb-symptoms").bilateral


def test_h6_body_site_right_and_left_qualifier_51440002():
    found = run(symptom("o1", PARAESTHESIA, value=True, bodySite=body_site(LOWER_LIMB, RIGHT_AND_LEFT)))
    leg = found.get("lower-limb-sensory")
    assert leg.bilateral and "site-lower-limb" in leg.sites


def test_h6_right_and_left_body_sites_on_two_observations():
    found = run(
        symptom("o1", NUMBNESS, value=True, bodySite=body_site(LOWER_LIMB, RIGHT)),
        symptom("o2", PARAESTHESIA, value=True, bodySite=body_site(LOWER_LIMB, LEFT)),
    )
    assert found.get("lower-limb-sensory").bilateral


def test_h6_laterality_in_a_body_site_extension():
    site = body_site(LOWER_LIMB)
    site["extension"] = [{"url": "http://example.org/fhir/StructureDefinition/laterality",
                          "valueCodeableConcept": {"coding": [{"system": SNOMED, "code": "7771000"}]}}]
    found = run(
        symptom("o1", NUMBNESS, value=True, bodySite=site),
        symptom("o2", NUMBNESS, value=True, bodySite=body_site(LOWER_LIMB, RIGHT)),
    )
    assert found.get("lower-limb-sensory").sides == {"left", "right"}


def test_h6_condition_body_site_list():
    found = run(condition("c1", (ICD, "R25.3"), bodySite=[body_site(LOWER_LIMB, LEFT), body_site(LOWER_LIMB, RIGHT)]))
    fas = found.get("fasciculation")
    assert fas.bilateral and fas.sites == {"site-lower-limb"}


def test_h6_negated_side_does_not_count_towards_bilateral():
    found = run(
        symptom("o1", NUMBNESS, value=True, bodySite=body_site(LOWER_LIMB, RIGHT)),
        symptom("o2", NUMBNESS, value=False, bodySite=body_site(LOWER_LIMB, LEFT)),
    )
    assert found.get("lower-limb-sensory").sides == {"right"}


def test_saddle_sensory_loss_via_perineal_body_site():
    found = run(symptom("o1", NUMBNESS, value=True, bodySite=body_site(PERINEUM)))
    assert found.present("saddle-sensory-loss")
    assert not found.present("lower-limb-sensory")
    assert not found.present("sensory-symptoms")  # saddle is not a limb symptom


def test_s4_saddle_paraesthesia_via_perineal_body_site():
    found = run(symptom("o1", PARAESTHESIA, value=True, days=3, bodySite=body_site(PERINEUM)))
    assert found.present("saddle-sensory-loss")
    assert found.get("saddle-sensory-loss").sites == {"site-saddle"}


def test_one_numb_buttock_is_not_saddle_anaesthesia():
    """docs/clinical-safety.md: one numb buttock fits an S1 radiculopathy; it stays a sensory symptom."""
    found = run(symptom("o1", NUMBNESS, value=True, bodySite=body_site(BUTTOCK, LEFT)))
    assert not found.present("saddle-sensory-loss") and not found.negated("saddle-sensory-loss")
    assert found.present("sensory-symptoms")
    unsided = run(symptom("o1", NUMBNESS, value=True, bodySite=body_site(BUTTOCK)))
    assert not unsided.present("saddle-sensory-loss")


def test_both_buttocks_are_saddle_anaesthesia_from_one_or_two_resources():
    both = run(symptom("o1", NUMBNESS, value=True, bodySite=body_site(BUTTOCK, RIGHT_AND_LEFT)))
    assert both.present("saddle-sensory-loss") and both.get("saddle-sensory-loss").sites == {"site-buttock"}
    pair = run(symptom("o1", NUMBNESS, value=True, days=2, bodySite=body_site(BUTTOCK, LEFT)),
               symptom("o2", PARAESTHESIA, value=True, days=1, bodySite=body_site(BUTTOCK, RIGHT)))
    assert pair.present("saddle-sensory-loss") and pair.get("saddle-sensory-loss").onset == day(2)
    negated_side = run(symptom("o1", NUMBNESS, value=True, bodySite=body_site(BUTTOCK, LEFT)),
                       symptom("o2", NUMBNESS, value=False, bodySite=body_site(BUTTOCK, RIGHT)))
    assert not negated_side.present("saddle-sensory-loss")


def test_genital_and_perianal_sites_are_saddle():
    for site in ((SNOMED, "60944009"), (SNOMED, "59112000"), (SNOMED, "45292006")):
        assert run(symptom("o1", NUMBNESS, value=True, bodySite=body_site(site))).present("saddle-sensory-loss"), site


def test_numbness_without_site_is_not_saddle_or_leg():
    found = run(symptom("o1", NUMBNESS, value=True))
    assert not found.present("saddle-sensory-loss") and not found.present("lower-limb-sensory")
    assert found.present("sensory-symptoms") and found.present("limb-symptoms")


def test_upper_limb_symptoms_from_body_site():
    found = run(symptom("o1", PARAESTHESIA, value=True, bodySite=body_site(UPPER_LIMB)))
    assert found.present("upper-limb-symptoms") and not found.present("lower-limb-symptoms")


def test_site_from_the_code_itself():
    found = run(observation("o1", (SNOMED, "309537005")))  # Numbness of lower limb
    assert found.present("lower-limb-sensory")
    assert "site-lower-limb" in found.get("lower-limb-sensory").sites
