"""H1 (Condition clinical / verification status) and H5 (onset) on real Condition JSON."""
from __future__ import annotations

from datetime import date

import pytest

from tests.helpers.findings import ICD, SNOMED, ago, condition, day, observation, patient, run

CES = (ICD, "G83.4")
SCIATICA_RIGHT = (ICD, "M54.31")
RADICULOPATHY_LUMBAR = (ICD, "M54.16")


@pytest.mark.parametrize("status", ["active", "recurrence", "relapse"])
def test_h1_counting_clinical_statuses(status):
    found = run(condition("c1", CES, clinical=status))
    assert found.present("cauda-equina-syndrome")
    assert not found.get("cauda-equina-syndrome").suspected


@pytest.mark.parametrize("status", ["inactive", "remission", "resolved"])
def test_h1_ignored_clinical_statuses(status):
    found = run(condition("c1", CES, clinical=status, abatementDateTime=ago(300)))
    assert not found.present("cauda-equina-syndrome")
    assert found.get("cauda-equina-syndrome") is None


@pytest.mark.parametrize("verification", ["refuted", "entered-in-error"])
def test_h1_void_verification_statuses(verification):
    found = run(condition("c1", CES, verification=verification))
    assert not found.present("cauda-equina-syndrome")


@pytest.mark.parametrize("verification", ["unconfirmed", "provisional", "differential"])
def test_h1_suspected_verification_statuses_count_as_suspected(verification):
    found = run(condition("c1", CES, verification=verification))
    assert found.present("cauda-equina-syndrome")
    assert found.get("cauda-equina-syndrome").suspected


def test_h1_confirmed_and_missing_verification_are_not_suspected():
    assert not run(condition("c1", CES, verification=None)).get("cauda-equina-syndrome").suspected


def test_h1_suspected_only_when_all_current_evidence_is_suspected():
    found = run(condition("c1", CES, verification="provisional"), condition("c2", CES, verification="confirmed"))
    assert found.present("cauda-equina-syndrome") and not found.get("cauda-equina-syndrome").suspected


def test_h1_missing_clinical_status_counts_as_active_with_data_quality_note():
    found = run(condition("c-noclin", CES, clinical=None))
    assert found.present("cauda-equina-syndrome")
    assert any("Condition/c-noclin" in note and "clinicalStatus" in note for note in found.data_quality)


def test_h1_missing_clinical_status_with_entered_in_error_is_ignored_without_note():
    found = run(condition("c1", CES, clinical=None, verification="entered-in-error"))
    assert not found.present("cauda-equina-syndrome")
    assert found.data_quality == ()


def test_s8_resolved_refuted_and_entered_in_error_data_is_ignored():
    found = run(
        condition("ces", CES, verification="entered-in-error"),
        condition("sci", SCIATICA_RIGHT, clinical="resolved", abatementDateTime=ago(300)),
        condition("als", (ICD, "G12.21"), verification="refuted"),
        observation("ret", (SNOMED, "267064002"), status="entered-in-error", valueBoolean=True),
        condition("lbp", (ICD, "M54.50"), onsetDateTime=ago(5)),
    )
    for name in ("cauda-equina-syndrome", "sciatica", "motor-neuron-disease", "urinary-retention"):
        assert not found.present(name), name
    assert found.present("low-back-pain")


# ---- H5 onset -------------------------------------------------------------------------------
def test_h5_onset_from_onset_datetime():
    found = run(condition("c1", RADICULOPATHY_LUMBAR, onsetDateTime=ago(14) + "T08:30:00Z", recordedDate=ago(2)))
    assert found.get("radiculopathy-lumbar").onset == day(14)


def test_h5_onset_from_onset_period_start():
    found = run(condition("c1", RADICULOPATHY_LUMBAR, onsetPeriod={"start": ago(56), "end": ago(40)}))
    assert found.get("radiculopathy-lumbar").onset == day(56)


def test_h5_onset_from_onset_age_and_birth_date():
    found = run(condition("c1", RADICULOPATHY_LUMBAR,
                          onsetAge={"value": 46, "unit": "years", "system": "http://unitsofmeasure.org", "code": "a"}),
                pat=patient("1980-03-01"))
    onset = found.get("radiculopathy-lumbar").onset
    assert onset.year == 2026 and onset.month == 3  # 1980-03-01 + 46 years


def test_h5_onset_age_without_birth_date_falls_back_to_recorded_date_with_note():
    found = run(condition("c-age", RADICULOPATHY_LUMBAR, onsetAge={"value": 46, "code": "a"}, recordedDate=ago(3)),
                pat=patient(None))
    assert found.get("radiculopathy-lumbar").onset == day(3)
    assert any("Condition/c-age" in note and "birthDate" in note for note in found.data_quality)


def test_h5_recorded_date_is_the_fallback():
    found = run(condition("c1", RADICULOPATHY_LUMBAR, recordedDate=ago(9)))
    assert found.get("radiculopathy-lumbar").onset == day(9)


def test_h5_earliest_of_condition_and_positive_observations():
    found = run(
        condition("c1", (ICD, "M54.50"), onsetDateTime=ago(5)),
        observation("o1", (ICD, "M54.50"), days=30),
    )
    assert found.get("low-back-pain").onset == day(30)
    assert found.get("low-back-pain").latest == day(5)


def test_h5_earliest_positive_observation_when_no_condition():
    found = run(
        observation("o-old", (SNOMED, "91019004"), days=40, valueBoolean=True),
        observation("o-new", (SNOMED, "91019004"), days=2, valueBoolean=True),
    )
    assert found.get("sensory-symptoms").onset == day(40)


def test_h5_negative_observations_do_not_date_the_onset():
    found = run(
        observation("neg", (SNOMED, "91019004"), days=40, valueBoolean=False),
        observation("pos", (SNOMED, "91019004"), days=2, valueBoolean=True),
    )
    assert found.get("sensory-symptoms").onset == day(2)


def test_h5_unknown_duration_when_no_date_at_all():
    found = run(condition("c1", RADICULOPATHY_LUMBAR))
    assert found.present("radiculopathy-lumbar")
    assert found.get("radiculopathy-lumbar").onset is None


def test_age_from_birth_date():
    assert run(pat=patient("1980-06-16")).age_years == 45  # birthday is tomorrow
    assert run(pat=patient("1980-06-15")).age_years == 46
    assert run(pat=patient(None)).age_years is None


def test_h5_onset_age_in_months_with_a_human_unit_only():
    found = run(condition("c1", RADICULOPATHY_LUMBAR, onsetAge={"value": 554, "unit": "months"}),
                pat=patient("1980-03-01"))
    # 46 years 2 months after 1980-03-01, give or take the average month length
    assert abs((found.get("radiculopathy-lumbar").onset - date(2026, 5, 1)).days) <= 3
