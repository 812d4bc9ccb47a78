"""Calls to the patient-view service in process, as the protocol, storage and feedback tests make
them: a request with every prefetch key null or a CES record that always gets one card, and the
OperationOutcome a refused call must carry."""
from __future__ import annotations

import uuid
from typing import Any

SERVICE = "/cds-services/nerve-cds-patient-view"
CES = {"patient": None, "observations": None, "measurements": None, "serviceRequests": None, "procedures": None, "imagingStudies": None,
       "diagnosticReports": None, "medicationStatements": None, "carePlans": None, "medicationRequests": None,
       "devices": None, "allergies": None, "renalFunction": None,
       "conditions": {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": {
           "resourceType": "Condition", "id": "fb-c", "subject": {"reference": "Patient/p-1"}, "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "G83.4"}]},
           "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]}}}]}}
NULL_PREFETCH = {key: None for key in CES}


def hook(**changes: Any) -> dict[str, Any]:
    """A valid patient-view request with every prefetch key null; `changes` replace its members."""
    body = {"hook": "patient-view", "hookInstance": str(uuid.uuid4()),
            "context": {"userId": "Practitioner/dr-a", "patientId": "p-1"}, "prefetch": dict(NULL_PREFETCH)}
    body.update(changes)
    return body


def outcome(response, status: int) -> dict[str, Any]:
    """The first issue of the OperationOutcome a refused call must answer with, as FHIR JSON and
    without a traceback."""
    assert response.status_code == status, response.data[:300]
    assert response.mimetype == "application/fhir+json"
    assert "Traceback" not in response.get_data(as_text=True)
    body = response.get_json()
    assert body["resourceType"] == "OperationOutcome" and body["issue"][0]["severity"] == "error"
    return body["issue"][0]


def issue_card(client) -> tuple[str, dict[str, Any]]:
    """(hookInstance, card): the CES card issued through the real endpoint."""
    request = hook(prefetch=CES)
    return request["hookInstance"], client.post(SERVICE, json=request).get_json()["cards"][0]
