"""H2 (Observation status), H3 (negative / positive observations), H4 (latest wins) on real JSON."""
from __future__ import annotations

import pytest

from tests.helpers.findings import (
    ABSENT,
    KNOWN_ABSENT,
    LOINC,
    NO,
    PERINEUM,
    PRESENT,
    SNOMED,
    V3,
    YES,
    body_site,
    concept,
    condition,
    day,
    observation,
    run,
    symptom,
)

RETENTION = (SNOMED, "267064002")
NUMBNESS = (SNOMED, "44077006")
FASCICULATION = (SNOMED, "82470000")
SYMPTOM = (LOINC, "75325-1")


@pytest.mark.parametrize("status", ["final", "amended", "corrected", "preliminary"])
def test_h2_counting_statuses(status):
    assert run(symptom("o1", RETENTION, value=True, status=status)).present("urinary-retention")


@pytest.mark.parametrize("status", ["registered", "cancelled", "entered-in-error", "unknown"])
def test_h2_ignored_statuses(status):
    found = run(symptom("o1", RETENTION, value=True, status=status))
    assert found.get("urinary-retention") is None


def test_h3_value_boolean_true_is_present_false_is_negated():
    assert run(symptom("o1", RETENTION, value=True)).present("urinary-retention")
    found = run(symptom("o1", RETENTION, value=False))
    assert not found.present("urinary-retention")
    assert found.negated("urinary-retention")


@pytest.mark.parametrize("answer", [NO, ABSENT, KNOWN_ABSENT, (LOINC, "LA32-8")])
def test_h3_coded_no_or_absent_is_negated(answer):
    found = run(symptom("o1", RETENTION, value=answer))
    assert found.negated("urinary-retention") and not found.present("urinary-retention")


@pytest.mark.parametrize("answer", [YES, PRESENT])
def test_h3_coded_yes_or_present_is_present(answer):
    assert run(symptom("o1", RETENTION, value=answer)).present("urinary-retention")


def test_h3_finding_coded_observation_with_no_value_is_present():
    found = run(observation("o1", RETENTION))
    assert found.present("urinary-retention")
    assert found.get("urinary-retention").evidence[0].reference == "Observation/o1"


def test_h3_data_absent_reason_is_ignored():
    found = run(observation("o1", RETENTION, dataAbsentReason=concept(
        ("http://terminology.hl7.org/CodeSystem/data-absent-reason", "asked-declined"))))
    assert found.get("urinary-retention") is None


def test_h3_text_answer_from_the_closed_list_is_read_and_any_other_is_unreadable():
    assert run(observation("o-str", RETENTION, valueString=" No ")).negated("urinary-retention")
    found = run(observation("o-str", RETENTION, valueString="nope"))
    assert found.get("urinary-retention") is None
    (item,) = found.unreadable
    assert (item.reference, item.element, item.reason, item.about) == (
        "Observation/o-str", "valueString", "answer-not-recognised", ("urinary-retention",))


def test_h3_generic_symptom_observation_carries_the_finding_in_its_value():
    found = run(observation("o1", SYMPTOM, valueCodeableConcept=concept(FASCICULATION)))
    assert found.present("fasciculation")
    assert found.get("fasciculation").evidence[0].reference == "Observation/o1"


def test_h3_generic_symptom_observation_negated_by_interpretation_or_component():
    by_interpretation = observation("o1", SYMPTOM, valueCodeableConcept=concept(FASCICULATION),
                                    interpretation=[concept(ABSENT)])
    by_component = observation("o2", SYMPTOM, valueCodeableConcept=concept(FASCICULATION),
                               component=[{"code": concept((LOINC, "75325-1")), "valueCodeableConcept": concept(NO)}])
    for resource in (by_interpretation, by_component):
        found = run(resource)
        assert found.negated("fasciculation") and not found.present("fasciculation")


def test_h3_generic_symptom_observation_about_other_things_is_ignored():
    found = run(observation("o1", SYMPTOM, valueCodeableConcept=concept((SNOMED, "22253000"))))
    assert found.by_name == {}


def test_s9_negatives_never_make_red_flags_or_twitch_findings_present():
    negatives = [
        symptom("n1", NUMBNESS, value=False), symptom("n2", (SNOMED, "91019004"), value=False),
        symptom("n3", (SNOMED, "26544005"), value=False), symptom("n4", FASCICULATION, value=False),
        symptom("n5", (SNOMED, "165232002"), value=False), symptom("n6", (SNOMED, "72042002"), value=False),
        symptom("n7", NUMBNESS, value=False, bodySite=body_site(PERINEUM)),
        symptom("n8", (SNOMED, "22325002"), value=False),
    ]
    found = run(condition("lbp", ("http://hl7.org/fhir/sid/icd-10-cm", "M54.50"), onsetDateTime="2026-06-08"), *negatives)
    present = {name for name, f in found.by_name.items() if f.present}
    assert present == {"low-back-pain", "axial-pain", "lumbar-spinal-context"}
    for name in ("saddle-sensory-loss", "fasciculation", "weakness-objective", "urinary-incontinence",
                 "faecal-incontinence", "gait-disturbance", "sensory-symptoms"):
        assert found.negated(name), name


# ---- H4 -------------------------------------------------------------------------------------
def test_h4_positive_then_negative_is_not_present_and_previously_positive():
    found = run(
        symptom("old", NUMBNESS, value=True, days=5, bodySite=body_site(PERINEUM)),
        symptom("new", NUMBNESS, value=False, days=1, bodySite=body_site(PERINEUM)),
    )
    saddle = found.get("saddle-sensory-loss")
    assert not saddle.present and saddle.negated and saddle.previously_positive
    assert [e.positive for e in saddle.evidence] == [True, False]


def test_h4_negative_then_positive_is_present():
    found = run(
        symptom("old", NUMBNESS, value=False, days=5, bodySite=body_site(PERINEUM)),
        symptom("new", NUMBNESS, value=True, days=1, bodySite=body_site(PERINEUM)),
    )
    saddle = found.get("saddle-sensory-loss")
    assert saddle.present and not saddle.negated and not saddle.previously_positive
    assert saddle.latest == day(1) and saddle.onset == day(1)


def test_h4_uses_time_of_day_within_one_day():
    found = run(
        observation("am", RETENTION, days=None, effectiveDateTime="2026-06-14T08:00:00Z", valueBoolean=True),
        observation("pm", RETENTION, days=None, effectiveDateTime="2026-06-14T17:00:00+02:00", valueBoolean=False),
    )
    assert found.negated("urinary-retention")


def test_h4_latest_wins_across_code_systems_for_the_same_concept():
    found = run(
        observation("icd", ("http://hl7.org/fhir/sid/icd-10-cm", "R25.3"), days=10),
        symptom("sct", FASCICULATION, value=False, days=2),
    )
    assert found.negated("fasciculation")


def test_h4_negative_at_one_site_does_not_cancel_positive_at_another():
    found = run(
        symptom("leg", NUMBNESS, value=True, days=3, bodySite=body_site((SNOMED, "61685007"))),
        symptom("saddle", NUMBNESS, value=False, days=1, bodySite=body_site(PERINEUM)),
    )
    assert found.present("lower-limb-sensory")
    assert found.negated("saddle-sensory-loss")


def test_h4_active_condition_is_not_cancelled_by_negative_observation():
    found = run(
        condition("c1", ("http://hl7.org/fhir/sid/icd-10-cm", "R25.3"), onsetDateTime="2026-05-01"),
        symptom("o1", FASCICULATION, value=False, days=1),
    )
    assert found.present("fasciculation")


def test_h4_effective_period_and_instant_are_dates_too():
    found = run(
        observation("p", RETENTION, days=None, effectivePeriod={"start": "2026-06-01T10:00:00Z"}, valueBoolean=True),
        observation("i", RETENTION, days=None, effectiveInstant="2026-06-10T10:00:00.000Z", valueBoolean=False),
    )
    assert found.negated("urinary-retention") and found.get("urinary-retention").previously_positive


def test_evidence_display_comes_from_the_value_set_not_free_text():
    resource = observation("o1", RETENTION, valueBoolean=True, note=[{"text": "patient name here"}])
    resource["code"]["coding"][0]["display"] = "free text typed by someone"
    found = run(resource)
    display = found.get("urinary-retention").evidence[0].display
    assert display and "free text" not in display and "patient" not in display


def test_interpretation_low_codes_do_not_change_symptom_polarity():
    found = run(observation("o1", RETENTION, valueBoolean=True, interpretation=[concept((V3, "L"))]))
    assert found.present("urinary-retention")


def test_h4_same_time_positive_and_negative_counts_as_positive():
    # Contradictory records at the same instant: keep the red flag (safety first).
    found = run(symptom("yes", RETENTION, value=True, days=1), symptom("no", RETENTION, value=False, days=1))
    assert found.present("urinary-retention") and not found.negated("urinary-retention")


# ---- Unknown / not asked: no evidence either way (docs/clinical-safety.md corrects H3) -----------------
UNKNOWN_ANSWERS = [(SNOMED, "261665006"), (LOINC, "LA4489-6"),
                   ("http://terminology.hl7.org/CodeSystem/v3-NullFlavor", "NASK"),
                   ("http://terminology.hl7.org/CodeSystem/v2-0532", "ASKU"),
                   ("http://terminology.hl7.org/CodeSystem/data-absent-reason", "not-asked")]


@pytest.mark.parametrize("answer", UNKNOWN_ANSWERS)
def test_unknown_answer_is_neither_present_nor_negated(answer):
    found = run(symptom("o1", NUMBNESS, value=answer, bodySite=body_site(PERINEUM)))
    assert found.get("saddle-sensory-loss") is None


def test_unknown_after_a_positive_leaves_the_positive_standing():
    found = run(symptom("o1", RETENTION, value=True, days=3), symptom("o2", RETENTION, value=(SNOMED, "261665006"), days=1))
    assert found.present("urinary-retention") and not found.get("urinary-retention").previously_positive


def test_unknown_after_a_negative_does_not_revive_or_erase_it():
    found = run(symptom("o1", RETENTION, value=False, days=3), symptom("o2", RETENTION, value=(LOINC, "LA4489-6"), days=1))
    assert found.negated("urinary-retention") and not found.present("urinary-retention")


def test_unknown_interpretation_on_a_valueless_observation_is_ignored():
    found = run(observation("o1", RETENTION, interpretation=[concept((SNOMED, "261665006"))]))
    assert found.get("urinary-retention") is None


def test_symptom_observation_with_an_unknown_component_answer_is_ignored():
    # the component's code is not a finding: its value answers the symptom Observation
    unknown = {"code": concept(SYMPTOM), "valueCodeableConcept": concept((SNOMED, "261665006"))}
    found = run(observation("o1", SYMPTOM, valueCodeableConcept=concept(RETENTION), component=[unknown]))
    assert found.get("urinary-retention") is None
    no = {"code": concept(SYMPTOM), "valueCodeableConcept": concept(NO)}
    negated = run(observation("o1", SYMPTOM, valueCodeableConcept=concept(RETENTION), component=[no, unknown]))
    assert negated.negated("urinary-retention")


def test_a_component_coded_with_a_finding_is_read_as_its_own_observation():
    screen = observation("o1", (LOINC, "75325-1"), valueCodeableConcept=concept(RETENTION), component=[
        {"code": concept(NUMBNESS), "valueCodeableConcept": concept(YES)}])
    found = run(screen)
    assert found.present("urinary-retention") and found.present("sensory-symptoms")
