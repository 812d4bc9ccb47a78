"""CORS for browser clients, and secret hygiene: no token, JWT or patient data in any log line."""
from __future__ import annotations

import logging
import uuid

import pytest

from cds_service import create_app
from cds_service.settings import Settings
from jwt_support import Issuer, bearer, write_trust_file

SERVICE = "/cds-services/nerve-cds-patient-view"


def test_preflight_for_configured_origin_without_auth(tmp_path):
    ehr = Issuer("https://ehr.example.org")
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path}/fb.db", cors_origins=("https://ehr.example.org",),
                              trust_file=write_trust_file(tmp_path, {"issuer": ehr})))
    r = app.test_client().options(SERVICE, headers={
        "Origin": "https://ehr.example.org", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "Authorization, Content-Type"})
    assert r.status_code == 200
    assert r.headers["Access-Control-Allow-Origin"] == "https://ehr.example.org"
    allowed = r.headers["Access-Control-Allow-Headers"].lower()
    assert "authorization" in allowed and "content-type" in allowed
    other = app.test_client().options(SERVICE, headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
    assert "Access-Control-Allow-Origin" not in other.headers


def test_no_cors_by_default_and_star_in_dev(tmp_path):
    prod = create_app(Settings(database_url=f"sqlite:///{tmp_path}/a.db"))
    r = prod.test_client().options(SERVICE, headers={"Origin": "https://x.example", "Access-Control-Request-Method": "POST"})
    assert "Access-Control-Allow-Origin" not in r.headers
    dev = create_app(Settings(database_url=f"sqlite:///{tmp_path}/b.db", dev=True, auth_enabled=False))
    r = dev.test_client().options(SERVICE, headers={"Origin": "https://x.example", "Access-Control-Request-Method": "POST"})
    assert r.headers["Access-Control-Allow-Origin"] in ("*", "https://x.example")


def test_no_secret_or_patient_data_in_logs(tmp_path, fhir_base_url, caplog):
    """Valid and invalid JWTs, a FHIR access token and patient data pass through; none is logged."""
    caplog.set_level(logging.DEBUG)
    ehr = Issuer("https://ehr.example.org")
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path}/fb.db", dev=True,
                              trust_file=write_trust_file(tmp_path, {"issuer": ehr}), fhir_allowlist=(fhir_base_url,)))
    client = app.test_client()
    secrets = []
    good = ehr.token("http://localhost" + SERVICE)
    bad = Issuer("https://evil.example").token("http://localhost" + SERVICE)
    access_token = "at-" + uuid.uuid4().hex
    patient_marker = "Zebediah-" + uuid.uuid4().hex[:6]
    secrets += [good, bad, access_token, patient_marker]
    body = {
        "hook": "patient-view", "hookInstance": str(uuid.uuid4()), "fhirServer": fhir_base_url,
        "fhirAuthorization": {"access_token": access_token, "token_type": "Bearer", "expires_in": 60,
                              "scope": "patient/*.read", "subject": "nerve-cds"},
        "context": {"userId": "Practitioner/dr-x", "patientId": "hyg-patient"},
        "prefetch": {"patient": {"resourceType": "Patient", "id": "hyg-patient", "name": [{"family": patient_marker}]},
                     "conditions": {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": {
                         "resourceType": "Condition", "id": "hyg-c", "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "G83.4"}], "text": patient_marker},
                         "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]}}}]}},
    }
    assert client.post(SERVICE, json=body, headers=bearer(good)).status_code == 200
    assert client.post(SERVICE, json=body, headers=bearer(bad)).status_code == 401
    assert client.post(SERVICE, json={**body, "hook": patient_marker}, headers=bearer(ehr.token("http://localhost" + SERVICE))).status_code == 400
    feedback = {"feedback": [{"card": patient_marker, "outcome": "overridden", "outcomeTimestamp": "not-a-time"}]}
    assert client.post(SERVICE + "/feedback", json=feedback, headers=bearer(ehr.token("http://localhost" + SERVICE + "/feedback"))).status_code == 400
    text = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert "hookInstance" in text  # the request lines were captured
    for secret in secrets:
        assert secret not in text
