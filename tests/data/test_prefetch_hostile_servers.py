"""FHIR servers that answer with another patient's data, the wrong resources, or one byte a
second: no advice is built on someone else's record, and the call ends on time with a 412."""
from __future__ import annotations

import json
import logging
import time
import uuid
from datetime import date, timedelta

import pytest

from cds_service.core.settings import Settings
from tests.helpers.apps import new_app
from tests.helpers.fault_servers import ByPath, Misbehaving, reply, trickle

SERVICE = "/cds-services/nerve-cds-patient-view"
PID = "own-1"
RECENT = (date.today() - timedelta(days=20)).isoformat()  # inside the active-episode window
ACTIVE = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]}


def condition(cid, subject, code):
    return {"resourceType": "Condition", "id": cid, "subject": {"reference": subject}, "clinicalStatus": ACTIVE,
            "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": code}]}, "onsetDateTime": RECENT}


def searchset(*resources):
    return {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": r} for r in resources]}


def make_app(tmp_path, **more):
    settings = Settings(dev=True, auth_enabled=False, database_url=f"sqlite:///{tmp_path}/fb.db",
                        fhir_connect_timeout=1.0, fhir_read_timeout=3.0, **more)
    return new_app(settings).test_client()


def call(client, server, prefetch=None):
    body = {"hook": "patient-view", "hookInstance": str(uuid.uuid4()), "fhirServer": server,
            "context": {"userId": "Practitioner/dr-a", "patientId": PID}}
    if prefetch is not None:
        body["prefetch"] = prefetch
    return client.post(SERVICE, json=body)


def topics(response):
    return {c["source"]["topic"]["code"] for c in response.get_json()["cards"]}


# CES (G83.4) for someone else, lumbar radiculopathy (M54.16) for our patient.
OTHERS_CES = [condition("other-ces", "Patient/someone-else", "G83.4"),
              condition("other-ces-abs", "https://ehr.example.org/fhir/Patient/someone-else/_history/3", "G83.4")]
OURS = condition("ours", f"Patient/{PID}", "M54.16")


def test_fetched_conditions_of_another_patient_are_dropped(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="nerve_cds.request")
    answers = {"Patient/": {"resourceType": "Patient", "id": PID, "birthDate": "1980-01-01"}}
    with ByPath(answers) as server:
        ours_absolute = condition("ours-abs", f"{server.base_url}/Patient/{PID}", "M54.16")  # on the fhirServer
        answers["Condition"] = searchset(*OTHERS_CES, ours_absolute)
        r = call(make_app(tmp_path), server.base_url)
    assert r.status_code == 200, r.data[:300]
    assert not {t for t in topics(r) if t.startswith("cauda-equina")}, "another patient's CES made a CES card"
    assert "conservative-management" in topics(r)  # our own (absolute-URL) Condition still counts
    (line,) = [rec for rec in caplog.records if rec.name == "nerve_cds.request"]
    assert line.fields["setAside"] == {"subject names another patient": 1, "subject is on another FHIR server": 1}
    assert "other-ces" not in json.dumps(r.get_json())
    # the request's one log line says it: no second line per call (issue #20)
    assert not [rec for rec in caplog.records if rec.name == "nerve_cds.ownership"]


def test_key_with_only_another_patients_resources_is_412(tmp_path):
    with ByPath({"Patient/": {"resourceType": "Patient", "id": PID}, "Condition": searchset(*OTHERS_CES)}) as server:
        r = call(make_app(tmp_path), server.base_url)
    assert r.status_code == 412
    assert "conditions" in r.get_json()["issue"][0]["diagnostics"]


@pytest.mark.parametrize("patient", [{"resourceType": "Patient", "id": "someone-else"},
                                     {"resourceType": "Practitioner", "id": PID}])
def test_patient_key_with_another_patient_or_type_is_412(tmp_path, patient):
    with ByPath({"Patient/": patient}) as server:
        r = call(make_app(tmp_path), server.base_url)
    assert r.status_code == 412 and "patient" in r.get_json()["issue"][0]["diagnostics"]


def test_prefetched_resources_of_the_wrong_type_or_patient_are_dropped(tmp_path):
    """Sent by the client this time: Observations under `conditions` and another patient's CES."""
    retention = {"resourceType": "Observation", "id": "flag", "status": "final", "subject": {"reference": f"Patient/{PID}"},
                 "code": {"coding": [{"system": "http://snomed.info/sct", "code": "267064002"}]}, "valueBoolean": True,
                 "effectiveDateTime": "2026-01-01"}
    prefetch = {k: None for k in ("patient", "observations", "serviceRequests", "procedures", "imagingStudies",
                                  "diagnosticReports", "medicationStatements")}
    prefetch["conditions"] = searchset(OURS, retention, *OTHERS_CES)
    r = call(make_app(tmp_path), "http://127.0.0.1:9/fhir", prefetch)
    assert r.status_code == 200
    assert not {t for t in topics(r) if t.startswith("cauda-equina")}
    prefetch["conditions"] = searchset(retention)  # nothing under the key is a Condition
    assert call(make_app(tmp_path), "http://127.0.0.1:9/fhir", prefetch).status_code == 412


BODY = json.dumps(searchset(OURS)).encode()


@pytest.mark.parametrize("headers_too", [True, False], ids=["trickled-headers", "trickled-body"])
def test_trickling_server_is_cut_off_at_the_deadline(tmp_path, headers_too):
    deadline = 1.0  # below the 3 s read timeout, so only the deadline can end the call
    with Misbehaving(trickle(200, BODY, interval=0.1, headers_too=headers_too)) as slow:
        client = make_app(tmp_path, fhir_deadline=deadline)
        started = time.monotonic()
        r = call(client, slow.base_url)
        elapsed = time.monotonic() - started
    assert r.status_code == 412, r.data[:300]
    assert "deadline" in r.get_json()["issue"][0]["diagnostics"]
    assert deadline - 0.2 <= elapsed < deadline + 1.0, elapsed


def test_the_medication_read_shares_the_calls_one_deadline(tmp_path):
    """Searches that take most of the budget, then a Medication read that trickles: the call still
    ends within one fhir_deadline (the Medication batch gets no fresh budget of its own)."""
    order = {"resourceType": "MedicationRequest", "id": "mr-1", "status": "active", "intent": "order",
             "subject": {"reference": f"Patient/{PID}"}, "medicationReference": {"reference": "Medication/m-1"}}
    slow_medication = trickle(200, json.dumps({"resourceType": "Medication", "id": "m-1"}).encode(), 0.2)

    def respond(handler):
        path = handler.path[len("/fhir/"):]
        if path.startswith("Medication/"):
            return slow_medication(handler)
        if handler.command == "POST":  # no batch: one GET per key, in parallel
            return reply(405, b'{"resourceType":"OperationOutcome"}')(handler)
        time.sleep(0.35)  # every search (10 keys on 8 threads: two rounds): most of the 1 s budget
        body = ({"resourceType": "Patient", "id": PID, "birthDate": "1980-01-01"} if path.startswith("Patient/")
                else searchset(order) if path.startswith("MedicationRequest") else searchset())
        return reply(200, json.dumps(body).encode())(handler)

    with Misbehaving(respond) as server:
        client = make_app(tmp_path, fhir_deadline=1.0)
        started = time.monotonic()
        r = call(client, server.base_url)
        elapsed = time.monotonic() - started
    assert r.status_code == 200, r.get_json()
    assert elapsed < 1.6, f"{elapsed:.2f} s: the Medication read ran on a budget of its own"
