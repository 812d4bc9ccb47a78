"""Studies done or open (H7 de-duplication input) and active medications."""
from __future__ import annotations

import pytest

from tests.helpers.findings import CPT, LOINC, PATIENT_ID, RXNORM, SNOMED, ago, concept, day, run

SUBJECT = {"reference": f"Patient/{PATIENT_ID}"}
MRI_LUMBAR = (CPT, "72148")


def service_request(rid, code, status, **fields):
    return {"resourceType": "ServiceRequest", "id": rid, "status": status, "intent": "order",
            "code": concept(code), "subject": SUBJECT, **fields}


def test_s7_completed_procedure_imaging_study_and_final_report_are_done():
    found = run(
        {"resourceType": "Procedure", "id": "pr1", "status": "completed", "code": concept(MRI_LUMBAR),
         "subject": SUBJECT, "performedDateTime": ago(20)},
        {"resourceType": "ImagingStudy", "id": "is1", "status": "available", "subject": SUBJECT,
         "started": ago(20) + "T09:00:00Z", "procedureCode": [concept(MRI_LUMBAR)]},
        {"resourceType": "DiagnosticReport", "id": "dr1", "status": "final", "code": concept(MRI_LUMBAR),
         "subject": SUBJECT, "effectiveDateTime": ago(19)},
    )
    assert {(s.kind, s.state, s.when, s.reference) for s in found.studies} == {
        ("mri-lumbar-spine", "done", day(20), "Procedure/pr1"),
        ("mri-lumbar-spine", "done", day(20), "ImagingStudy/is1"),
        ("mri-lumbar-spine", "done", day(19), "DiagnosticReport/dr1"),
    }


@pytest.mark.parametrize("status,state", [("active", "open"), ("draft", "open"), ("on-hold", "open"),
                                          ("completed", "done"), ("revoked", None), ("entered-in-error", None)])
def test_service_request_states(status, state):
    found = run(service_request("sr1", MRI_LUMBAR, status, authoredOn=ago(3)))
    assert [s.state for s in found.studies] == ([state] if state else [])


def test_cancelled_or_not_done_procedures_are_not_studies():
    found = run({"resourceType": "Procedure", "id": "p", "status": "not-done", "code": concept(MRI_LUMBAR),
                 "subject": SUBJECT})
    assert found.studies == ()


def test_s2_pt_referral_done_six_weeks_ago():
    found = run(service_request("pt", (SNOMED, "308447003"), "completed", authoredOn=ago(42)))
    assert [(s.kind, s.state, s.when) for s in found.studies] == [("pt-referral", "done", day(42))]


def test_ncs_and_emg_codes_are_separate_kinds():
    found = run(service_request("ncs", (CPT, "95907"), "active"), service_request("emg", (CPT, "95886"), "active"))
    assert {s.kind for s in found.studies} == {"nerve-conduction-study", "needle-emg-addon"}


def test_study_date_prefers_occurrence_over_authored():
    found = run(service_request("sr", MRI_LUMBAR, "active", occurrenceDateTime=ago(1), authoredOn=ago(10)))
    assert found.studies[0].when == day(1)


def test_unrelated_orders_are_not_studies():
    assert run(service_request("x", (LOINC, "2157-6"), "active")).studies == ()


def test_active_nsaid_statement_and_request():
    ibuprofen = concept((RXNORM, "5640"))
    statement = {"resourceType": "MedicationStatement", "id": "ms1", "status": "active",
                 "medicationCodeableConcept": ibuprofen, "subject": SUBJECT}
    assert run(statement).medications == {"nsaid"}
    stopped = dict(statement, status="stopped")
    assert run(stopped).medications == frozenset()
    request = {"resourceType": "MedicationRequest", "id": "mr1", "status": "active", "intent": "order",
               "medicationReference": {"reference": "#med"}, "contained": [
                   {"resourceType": "Medication", "id": "med", "code": ibuprofen}], "subject": SUBJECT}
    assert run(request).medications == {"nsaid"}


def test_medication_reference_to_a_medication_resource():
    med = {"resourceType": "Medication", "id": "ibu", "code": concept((RXNORM, "5640"))}
    statement = {"resourceType": "MedicationStatement", "id": "ms1", "status": "active",
                 "medicationReference": {"reference": "Medication/ibu"}, "subject": SUBJECT}
    assert run(med, statement).medications == {"nsaid"}
