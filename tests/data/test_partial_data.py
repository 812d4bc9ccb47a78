"""Partial data is not no data: required keys give 412, optional ones are advised without and named."""
from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest
import requests

from cds_service.core.settings import Settings
from tests.helpers.apps import new_app
from tests.helpers.fault_servers import RecordingProxy

SERVICE = "/cds-services/nerve-cds-patient-view"
ICD = "http://hl7.org/fhir/sid/icd-10-cm"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
ACTIVE = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]}
PID = "partial-p1"


def searchset(*resources):
    return {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": r} for r in resources]}


def condition(cid, code, days_ago):
    return {"resourceType": "Condition", "id": cid, "subject": {"reference": f"Patient/{PID}"}, "clinicalStatus": ACTIVE,
            "code": {"coding": [{"system": ICD, "code": code}]},
            "onsetDateTime": (date.today() - timedelta(days=days_ago)).isoformat()}


def naproxen_order(rid="mr-nap"):
    return {"resourceType": "MedicationRequest", "id": rid, "status": "active", "intent": "order",
            "subject": {"reference": f"Patient/{PID}"}, "medicationReference": {"reference": "Medication/nap-500"},
            "authoredOn": (date.today() - timedelta(days=40)).isoformat()}


NAPROXEN = {"resourceType": "Medication", "id": "nap-500",
            "code": {"coding": [{"system": RXNORM, "code": "198014", "display": "naproxen 500 MG Oral Tablet"}]}}


def core(*conditions):
    """What a minimal EHR prefetches: Patient, Conditions, Observations, nothing else."""
    return {"patient": {"resourceType": "Patient", "id": PID, "birthDate": "1970-01-01"},
            "conditions": searchset(*conditions), "observations": searchset()}


def body(prefetch, fhir_server=None):
    out = {"hook": "patient-view", "hookInstance": str(uuid.uuid4()),
           "context": {"userId": "Practitioner/dr-a", "patientId": PID}, "prefetch": prefetch}
    if fhir_server:
        out["fhirServer"] = fhir_server
    return out


@pytest.fixture
def app(tmp_path):
    return new_app(Settings(dev=True, auth_enabled=False, database_url=f"sqlite:///{tmp_path}/fb.db"))


def cards_by_topic(response):
    return {c["source"]["topic"]["code"]: c for c in response.get_json()["cards"]}


def test_core_prefetch_without_fhir_server_gives_the_ces_emergency_card(app):
    r = app.test_client().post(SERVICE, json=body(core(condition("ces", "G83.4", 2))))
    assert r.status_code == 200, r.get_json()
    card = cards_by_topic(r)["cauda-equina-emergency"]
    assert card["indicator"] == "critical"
    assert "could not be" not in card["detail"]  # emergency advice does not depend on the missing data


def test_missing_conditions_is_still_412(app):
    prefetch = core(condition("ces", "G83.4", 2))
    del prefetch["conditions"]
    r = app.test_client().post(SERVICE, json=body(prefetch))
    assert r.status_code == 412
    assert r.get_json()["resourceType"] == "OperationOutcome"
    assert "conditions" in r.get_json()["issue"][0]["diagnostics"]


def test_missing_medication_data_is_named_where_it_changes_the_advice(app):
    r = app.test_client().post(SERVICE, json=body(core(condition("rad", "M54.16", 60))))
    assert r.status_code == 200
    card = cards_by_topic(r)["radiculopathy-imaging"]
    assert "conservative care not confirmed" in card["summary"]
    assert "medication orders" in card["detail"] and "care plans" in card["detail"]
    assert "{" not in card["detail"]


def test_empty_medication_data_is_not_missing_data(app):
    prefetch = {**core(condition("rad", "M54.16", 60)), **{k: None for k in (
        "serviceRequests", "procedures", "carePlans", "imagingStudies", "diagnosticReports",
        "medicationRequests", "medicationStatements")}}
    card = cards_by_topic(app.test_client().post(SERVICE, json=body(prefetch)))["radiculopathy-imaging"]
    assert "once conservative care is confirmed" in card["summary"]  # the record says: none recorded


def test_included_medication_confirms_conservative_care(app):
    prefetch = {**core(condition("rad", "M54.16", 60)), **{k: None for k in (
        "serviceRequests", "procedures", "carePlans", "imagingStudies", "diagnosticReports", "medicationStatements")}}
    prefetch["medicationRequests"] = searchset(naproxen_order(), NAPROXEN)
    card = cards_by_topic(app.test_client().post(SERVICE, json=body(prefetch)))["radiculopathy-imaging"]
    assert card["summary"].startswith("Radicular symptoms for 6+ weeks despite conservative care")


@pytest.fixture(scope="module")
def medication_on_server(fhir_base_url):
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"resource": NAPROXEN, "request": {"method": "PUT", "url": "Medication/nap-500"}}]}
    assert requests.post(fhir_base_url, json=bundle, timeout=30).status_code == 200
    return fhir_base_url


def test_referenced_medication_not_sent_is_fetched_in_one_round_trip(tmp_path, medication_on_server):
    prefetch = {**core(condition("rad", "M54.16", 60)), **{k: None for k in (
        "measurements", "renalFunction", "serviceRequests", "procedures", "carePlans", "imagingStudies", "diagnosticReports",
        "medicationStatements", "devices", "allergies")}}
    prefetch["medicationRequests"] = searchset(naproxen_order())  # EHR ignored _include
    with RecordingProxy(medication_on_server) as proxy:
        app = new_app(Settings(dev=True, auth_enabled=False, database_url=f"sqlite:///{tmp_path}/fb.db",
                               fhir_allowlist=(proxy.base_url,)))
        r = app.test_client().post(SERVICE, json=body(prefetch, proxy.base_url))
    assert r.status_code == 200
    assert [(s["method"], s["path"].rsplit("/", 2)[-2:]) for s in proxy.seen] == [("GET", ["Medication", "nap-500"])]
    card = cards_by_topic(r)["radiculopathy-imaging"]
    assert card["summary"].startswith("Radicular symptoms for 6+ weeks despite conservative care")


def test_unresolvable_medication_reference_is_partial_data(app):
    prefetch = {**core(condition("rad", "M54.16", 60)), **{k: None for k in (
        "serviceRequests", "procedures", "carePlans", "imagingStudies", "diagnosticReports", "medicationStatements")}}
    prefetch["medicationRequests"] = searchset(naproxen_order())  # no server to read the Medication from
    card = cards_by_topic(app.test_client().post(SERVICE, json=body(prefetch)))["radiculopathy-imaging"]
    assert "conservative care not confirmed" in card["summary"]
    assert "medication orders" in card["detail"] and "care plans" not in card["detail"]
