"""Helpers the storage and feedback tests share: a CES record that always gets one card, and
issuing that card through the real endpoint."""
from __future__ import annotations

import uuid

SERVICE = "/cds-services/nerve-cds-patient-view"
CES = {"patient": None, "observations": None, "serviceRequests": None, "procedures": None, "imagingStudies": None,
       "diagnosticReports": None, "medicationStatements": None, "carePlans": None, "medicationRequests": None,
       "conditions": {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": {
           "resourceType": "Condition", "id": "fb-c", "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "G83.4"}]},
           "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]}}}]}}


def issue_card(client):
    hook_instance = str(uuid.uuid4())
    r = client.post(SERVICE, json={"hook": "patient-view", "hookInstance": hook_instance,
                                   "context": {"userId": "Practitioner/a", "patientId": "p"}, "prefetch": CES})
    card = r.get_json()["cards"][0]
    return hook_instance, card


