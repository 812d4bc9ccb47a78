"""'progressive': worsening graded values or explicit markers; never a mere repeat (docs/clinical-safety.md)."""
from __future__ import annotations

from tests.helpers.findings import ICD, LEFT, LOWER_LIMB, SNOMED, V3, body_site, concept, condition, observation, run, symptom

WEAKNESS = (SNOMED, "26544005")
LIMB_WEAKNESS = (SNOMED, "713514005")
MRC_COMPONENT = ("http://example.org/local-codes", "mrc-ankle-dorsiflexion")


def mrc(rid, days, grade, as_component=False):
    site = body_site(LOWER_LIMB, LEFT)
    if as_component:
        return observation(rid, WEAKNESS, days=days, bodySite=site,
                           component=[{"code": concept(MRC_COMPONENT), "valueInteger": grade}])
    return observation(rid, WEAKNESS, days=days, bodySite=site,
                       valueQuantity={"value": grade, "unit": "{score}", "system": "http://unitsofmeasure.org"})


def test_s12_mrc_grade_falling_from_4_to_2_is_progressive():
    found = run(mrc("w1", 7, 4), mrc("w2", 1, 2))
    for name in ("weakness-objective", "lower-limb-weakness", "motor-deficit"):
        assert found.present(name) and found.get(name).progressive, name


def test_s12_grade_in_a_component_counts_too():
    assert run(mrc("w1", 7, 4, as_component=True), mrc("w2", 1, 2, as_component=True)).get("weakness-objective").progressive


def test_improving_grades_are_not_progressive_even_when_far_apart():
    found = run(mrc("w1", 60, 2), mrc("w2", 1, 4))
    assert found.present("weakness-objective") and not found.get("weakness-objective").progressive


def test_weakness_found_again_weeks_later_unchanged_is_persistent_not_progressive():
    # docs/clinical-safety.md: "the same deficit recorded twice unchanged is persistent, not progressive"
    # (corrects the old rule that two positives 14 days apart meant progressive).
    found = run(symptom("a", LIMB_WEAKNESS, value=True, days=60), symptom("b", LIMB_WEAKNESS, value=True, days=2))
    assert found.present("weakness-objective") and not found.get("weakness-objective").progressive
    same_grade = run(mrc("w1", 40, 4), mrc("w2", 2, 4))
    assert not same_grade.get("weakness-objective").progressive and same_grade.get("weakness-objective").grade == 4


def test_a_worse_grade_in_another_limb_is_not_progression():
    # MRC 4 in the left leg, later MRC 3 in the right arm: two different deficits, neither worse.
    arm = observation("w2", WEAKNESS, days=1, bodySite=body_site((SNOMED, "53120007")),
                      valueQuantity={"value": 3, "unit": "{score}", "system": "http://unitsofmeasure.org"})
    found = run(mrc("w1", 30, 4), arm)
    assert found.present("weakness-objective") and not found.get("weakness-objective").progressive
    assert found.get("weakness-objective").grade == 3


def test_single_positive_weakness_observation_is_not_progressive():
    found = run(symptom("a", LIMB_WEAKNESS, value=True, days=2))
    assert found.present("weakness-objective") and not found.get("weakness-objective").progressive


def test_a_condition_and_one_observation_are_not_progressive():
    found = run(condition("c", (ICD, "M62.81"), onsetDateTime="2026-03-01"), symptom("a", WEAKNESS, value=True, days=2))
    assert not found.get("weakness-objective").progressive


def test_two_positives_a_few_days_apart_are_not_progressive():
    found = run(symptom("a", WEAKNESS, value=True, days=5), symptom("b", WEAKNESS, value=True, days=2))
    assert not found.get("weakness-objective").progressive


def test_weakness_negated_after_positives_is_not_progressive():
    found = run(symptom("a", WEAKNESS, value=True, days=60), symptom("b", WEAKNESS, value=True, days=20),
                symptom("c", WEAKNESS, value=False, days=1))
    weakness = found.get("weakness-objective")
    assert not weakness.present and not weakness.progressive and weakness.previously_positive


def test_explicit_worse_interpretation_marker():
    found = run(observation("a", WEAKNESS, days=1, interpretation=[concept((V3, "W"))]))
    assert found.get("weakness-objective").progressive


def test_explicit_marker_on_condition_severity():
    marker = ("http://example.org/nerve-cds/CodeSystem/finding-course", "progressive")
    found = run(condition("c", (ICD, "M21.372"), severity=concept(marker)))
    assert found.get("foot-drop").progressive and found.get("foot-drop").sides == {"left"}


def test_findings_without_progression_entry_are_never_progressive():
    fas = (SNOMED, "82470000")
    found = run(symptom("a", fas, value=True, days=90), symptom("b", fas, value=True, days=1))
    assert found.present("fasciculation") and not found.get("fasciculation").progressive


def test_latest_grade_compared_with_the_best_earlier_grade():
    # 4/5, then 2/5, then 3/5: still weaker than at first -> progressive
    assert run(mrc("w1", 20, 4), mrc("w2", 10, 2), mrc("w3", 1, 3)).get("weakness-objective").progressive


def test_a_worsened_value_on_the_deficit_itself_is_progressive():
    # SNOMED 271299001 "Patient's condition worsened" as the value of a foot-drop observation
    worse = observation("fd", (SNOMED, "6077001"), days=1, valueCodeableConcept=concept((SNOMED, "271299001")))
    found = run(worse)
    assert found.present("foot-drop") and found.get("foot-drop").progressive
    plain = run(observation("fd", (SNOMED, "6077001"), days=1, valueCodeableConcept=concept((SNOMED, "373066001"))))
    assert plain.present("foot-drop") and not plain.get("foot-drop").progressive
