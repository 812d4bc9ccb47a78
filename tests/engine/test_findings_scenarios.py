"""docs/clinical-safety.md scenarios as records: the findings each rule will be asked about."""
from __future__ import annotations

from tests.helpers.findings import (
    CPT,
    ICD,
    LEFT,
    LOINC,
    LOWER_LIMB,
    PERINEUM,
    RIGHT,
    RIGHT_AND_LEFT,
    RXNORM,
    SNOMED,
    UPPER_LIMB,
    V3,
    ago,
    body_site,
    concept,
    condition,
    day,
    observation,
    patient,
    run,
    symptom,
)

SUBJECT = {"reference": "Patient/pat-f1"}
NUMBNESS = (SNOMED, "44077006")
PARAESTHESIA = (SNOMED, "91019004")
WEAKNESS = (SNOMED, "26544005")
ATROPHY = (SNOMED, "88092000")
RETENTION = (SNOMED, "267064002")


def red_flags_negative(days=1):
    return [
        symptom("rf-ret", RETENTION, value=False, days=days),
        symptom("rf-inc", (SNOMED, "165232002"), value=False, days=days),
        symptom("rf-saddle", NUMBNESS, value=False, days=days, bodySite=body_site(PERINEUM)),
    ]


def test_s1_acute_lumbar_radiculopathy_no_red_flags():
    found = run(
        condition("s1-rad", (ICD, "M54.16"), (SNOMED, "128196005"), onsetDateTime=ago(14)),
        observation("s1-pain", (LOINC, "72514-3"), valueInteger=7),
        symptom("s1-par", PARAESTHESIA, value=True, bodySite=body_site(LOWER_LIMB, LEFT)),
        *red_flags_negative(),
        pat=patient("1984-01-20"),
    )
    assert found.age_years == 42
    assert found.get("radiculopathy-lumbar").onset == day(14)
    assert found.present("lower-limb-symptoms") and found.get("lower-limb-symptoms").sides == {"left"}
    for flag in ("urinary-retention", "urinary-incontinence", "saddle-sensory-loss"):
        assert found.negated(flag), flag
    assert found.studies == ()


def test_s2_eight_weeks_with_pt_done_and_nsaid():
    found = run(
        condition("s2-rad", (ICD, "M54.16"), onsetDateTime=ago(56)),
        {"resourceType": "ServiceRequest", "id": "s2-pt", "status": "completed", "intent": "order",
         "code": concept((SNOMED, "308447003")), "subject": SUBJECT, "authoredOn": ago(42)},
        {"resourceType": "MedicationStatement", "id": "s2-ibu", "status": "active", "subject": SUBJECT,
         "medicationCodeableConcept": concept((RXNORM, "5640"))},
        symptom("s2-weak", WEAKNESS, value=False),
    )
    assert found.get("radiculopathy-lumbar").onset == day(56)
    assert [(s.kind, s.state) for s in found.studies] == [("pt-referral", "done")]
    assert "nsaid" in found.medications
    assert found.negated("weakness-objective")


def test_s4_painless_saddle_paraesthesia_and_faecal_incontinence():
    found = run(
        symptom("s4-saddle", PARAESTHESIA, value=True, days=3, bodySite=body_site(PERINEUM)),
        condition("s4-fi", (ICD, "R15.9"), onsetDateTime=ago(3)),
        symptom("s4-gait", (SNOMED, "22325002"), value=True),
    )
    assert found.present("saddle-sensory-loss") and found.present("faecal-incontinence")
    assert found.present("gait-disturbance")
    assert not found.present("low-back-pain") and not found.present("radiculopathy")


def test_s5_isolated_retention_with_bph():
    found = run(
        condition("s5-bph", (ICD, "N40.1")),
        condition("s5-ret", (ICD, "R33.9"), onsetDateTime=ago(1)),
        symptom("s5-saddle", NUMBNESS, value=False, bodySite=body_site(PERINEUM)),
        symptom("s5-weak", WEAKNESS, value=False),
    )
    assert found.present("urinary-retention") and found.get("urinary-retention").onset == day(1)
    assert found.present("benign-prostatic-hyperplasia")
    assert found.negated("saddle-sensory-loss")
    for context in ("low-back-pain", "radiculopathy", "lower-limb-symptoms", "gait-disturbance"):
        assert not found.present(context), context


def test_s6_benign_twitch_with_contributors_and_normal_labs():
    found = run(
        condition("s6-fas", (ICD, "R25.3"), onsetDateTime=ago(21), bodySite=[body_site(LOWER_LIMB, RIGHT_AND_LEFT)]),
        symptom("s6-caf", (SNOMED, "440491000124109"), value=True),
        symptom("s6-sleep", (SNOMED, "130989002"), value=True),
        symptom("s6-weak", WEAKNESS, value=False),
        symptom("s6-atr", ATROPHY, value=False),
        observation("s6-k", (LOINC, "2823-3"), days=30, valueQuantity={"value": 4.2, "unit": "mmol/L"}),
        observation("s6-mg", (LOINC, "19123-9"), days=30, valueQuantity={"value": 2.0, "unit": "mg/dL"}),
        pat=patient("1999-01-10"),
    )
    assert found.age_years == 27
    assert found.present("fasciculation") and found.get("fasciculation").bilateral
    assert found.present("caffeine-excess") and found.present("sleep-deprivation")
    assert found.negated("weakness-objective") and found.negated("muscle-atrophy")
    assert not found.labs["potassium"].low and not found.labs["magnesium"].low
    assert found.labs["potassium"].when == day(30)


def test_s7_recent_mri_then_new_red_flag():
    found = run(
        condition("s7-rad", (ICD, "M54.17"), onsetDateTime=ago(63)),
        {"resourceType": "Procedure", "id": "s7-mri", "status": "completed", "code": concept((CPT, "72148")),
         "subject": SUBJECT, "performedDateTime": ago(20)},
        {"resourceType": "DiagnosticReport", "id": "s7-dr", "status": "final", "code": concept((CPT, "72148")),
         "subject": SUBJECT, "effectiveDateTime": ago(19)},
        symptom("s7b-ret", RETENTION, value=True, days=1),
    )
    mri_done = [s.when for s in found.studies if s.kind == "mri-lumbar-spine" and s.state == "done"]
    assert min(mri_done) == day(20)
    assert found.get("urinary-retention").latest > max(mri_done)  # new red flag since the scan (H7)


def test_s10_low_potassium_with_cramp():
    found = run(
        condition("s10-fas", (ICD, "R25.3"), onsetDateTime=ago(14)),
        symptom("s10-cramp", (SNOMED, "55300003"), value=True),
        observation("s10-k", (LOINC, "2823-3"), days=2, valueQuantity={"value": 3.1, "unit": "mmol/L"},
                    referenceRange=[{"low": {"value": 3.5, "unit": "mmol/L"}, "high": {"value": 5.1, "unit": "mmol/L"}}],
                    interpretation=[concept((V3, "L"))]),
        observation("s10-mg", (LOINC, "19123-9"), days=2, valueQuantity={"value": 1.9, "unit": "mg/dL"}),
        symptom("s10-weak", WEAKNESS, value=False), symptom("s10-atr", ATROPHY, value=False),
    )
    assert found.labs["potassium"].low and found.labs["potassium"].value == 3.1
    assert not found.labs["magnesium"].low
    assert found.present("cramp") and found.present("fasciculation")


def test_s11_widespread_fasciculation_with_progressive_weakness_wasting_and_dysarthria():
    found = run(
        condition("s11-fas", (ICD, "R25.3"), onsetDateTime=ago(120)),
        symptom("s11-f1", (SNOMED, "82470000"), value=True, days=10, bodySite=body_site(UPPER_LIMB, RIGHT)),
        symptom("s11-f2", (SNOMED, "82470000"), value=True, days=10, bodySite=body_site(UPPER_LIMB, LEFT)),
        symptom("s11-f3", (SNOMED, "82470000"), value=True, days=10, bodySite=body_site((SNOMED, "122495006"))),
        condition("s11-weak", (ICD, "M62.81"), onsetDateTime=ago(90)),
        symptom("s11-w1", (SNOMED, "713514005"), value=True, days=60),
        symptom("s11-w2", (SNOMED, "713514005"), value=True, days=2),
        condition("s11-wast", (ICD, "M62.59")),
        symptom("s11-dys", (SNOMED, "8011004"), value=True, days=7),
        symptom("s11-par", PARAESTHESIA, value=False),
    )
    fas = found.get("fasciculation")
    assert fas.onset == day(120) and fas.bilateral
    assert {"site-upper-limb", "site-thoracic-spine"} <= fas.sites
    # weakness recorded again, ungraded and unchanged: persistent, not progressive (§5.1); MND-1 still
    # fires on the wasting and the bulbar sign
    assert not found.get("weakness-objective").progressive and found.get("weakness-objective").onset == day(90)
    assert found.present("muscle-atrophy") and found.present("dysarthria") and found.present("bulbar-sign")
    assert not found.present("dysphagia") and not found.present("radiculopathy")
    assert found.negated("sensory-symptoms")


def test_s12_progressive_foot_drop_at_day_ten():
    mrc = {"system": "http://unitsofmeasure.org", "unit": "{score}", "code": "{score}"}
    found = run(
        condition("s12-rad", (ICD, "M51.16"), onsetDateTime=ago(10)),
        condition("s12-fd", (ICD, "M21.372"), onsetDateTime=ago(3)),
        symptom("s12-fdo", (SNOMED, "6077001"), value=True),
        observation("s12-mrc1", WEAKNESS, days=7, bodySite=body_site(LOWER_LIMB, LEFT), valueQuantity={"value": 4, **mrc}),
        observation("s12-mrc2", WEAKNESS, days=1, bodySite=body_site(LOWER_LIMB, LEFT), valueQuantity={"value": 2, **mrc}),
        *red_flags_negative(),
    )
    assert found.get("motor-deficit").progressive and found.get("lower-limb-weakness").progressive
    assert found.get("foot-drop").sides == {"left"} and found.get("foot-drop").onset == day(3)
    assert found.get("radiculopathy-lumbar").onset == day(10)
    assert not found.present("saddle-sensory-loss") and not found.present("urinary-retention")


def test_s14_cervical_radiculopathy_at_seven_weeks():
    found = run(condition("s14-rad", (ICD, "M50.122"), onsetDateTime=ago(49)))
    assert found.present("radiculopathy-cervical") and not found.present("radiculopathy-lumbar")
    assert found.get("radiculopathy-cervical").onset == day(49)


def test_h5_cluster_onset_is_the_earliest_leg_symptom_or_radicular_condition():
    found = run(
        condition("rad", (ICD, "M54.16"), onsetDateTime=ago(20)),
        symptom("leg", PARAESTHESIA, value=True, days=50, bodySite=body_site(LOWER_LIMB, LEFT)),
        symptom("saddle", NUMBNESS, value=True, days=70, bodySite=body_site(PERINEUM)),
    )
    assert found.get("lumbar-radicular-cluster").onset == day(50)
    assert found.get("radiculopathy-lumbar").onset == day(20)


def test_s13_right_carpal_tunnel_with_hand_paraesthesia_and_atrophy():
    found = run(
        condition("s13-cts", (ICD, "G56.01"), onsetDateTime=ago(84)),
        symptom("s13-par", (SNOMED, "309086004"), value=True),  # Paresthesia of hand
        symptom("s13-atr", ATROPHY, value=True),
    )
    cts = found.get("entrapment-median")
    assert cts.present and cts.sides == {"right"} and cts.onset == day(84)
    assert found.present("entrapment") and found.present("hand-sensory") and found.present("muscle-atrophy")
    assert not found.present("radiculopathy") and not found.present("lower-limb-symptoms")
