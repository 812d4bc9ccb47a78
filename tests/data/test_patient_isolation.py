"""Only the context patient's data counts: another patient's cauda equina diagnosis, written with
no subject, a string subject, a numeric reference, someone else's identifier or a reference that
cannot be resolved, never makes a CES card, whether the EHR sends it or the service fetches it
from a real FHIR server. The ways a resource may name the patient still count."""
from __future__ import annotations

import json
import logging
import uuid
from datetime import date, timedelta

import pytest
import requests

from cds_service.core.settings import Settings
from tests.helpers.apps import new_app
from tests.helpers.fault_servers import RecordingProxy

SERVICE = "/cds-services/nerve-cds-patient-view"
PID = "iso-1"
MRN = "urn:oid:2.16.840.1.113883.19.5"
ICD = "http://hl7.org/fhir/sid/icd-10-cm"
RECENT = (date.today() - timedelta(days=20)).isoformat()
ACTIVE = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]}
NULL_KEYS = ("observations", "serviceRequests", "procedures", "imagingStudies", "diagnosticReports",
             "medicationStatements", "carePlans", "medicationRequests")
PATIENT = {"resourceType": "Patient", "id": PID, "birthDate": "1980-01-01", "identifier": [{"system": MRN, "value": "MRN-OURS"}]}


def condition(cid: str, code: str, **subject) -> dict:
    return {"resourceType": "Condition", "id": cid, "clinicalStatus": ACTIVE, "onsetDateTime": RECENT,
            "code": {"coding": [{"system": ICD, "code": code}]}, **subject}


OURS = condition("ours", "M54.16", subject={"reference": f"Patient/{PID}"})  # lumbar radiculopathy
# Another patient's cauda equina syndrome (G83.4), each way it may arrive, and the reason it is set aside.
FOREIGN_CES = [
    ({}, "subject missing"),
    ({"subject": None}, "subject missing"),
    ({"subject": f"Patient/{PID}"}, "subject is not a Reference"),
    ({"subject": "Patient/someone-else"}, "subject is not a Reference"),
    ({"subject": [{"reference": f"Patient/{PID}"}]}, "subject is not a Reference"),
    ({"subject": {"reference": 42}}, "subject.reference is not a string"),
    ({"subject": {"reference": None}}, "subject.reference is not a string"),
    ({"subject": {"display": "Jane"}}, "subject names no patient"),
    ({"subject": {"identifier": {"system": MRN, "value": "MRN-SOMEONE-ELSE"}}}, "subject.identifier is not the patient's"),
    ({"subject": {"identifier": {"system": "urn:other", "value": "MRN-OURS"}}}, "subject.identifier is not the patient's"),
    ({"subject": {"reference": "Patient/someone-else"}}, "subject names another patient"),
    ({"subject": {"reference": "Group/ward-7"}}, "subject names another patient"),
    ({"subject": {"reference": "urn:uuid:4f1a2b3c-0000-4000-8000-000000000001"}}, "subject cannot be resolved"),
    ({"subject": {"reference": f"https://elsewhere.example/fhir/Patient/{PID}"}}, "subject is on another FHIR server"),
    ({"subject": {"reference": f"Patient/{PID}\n"}}, "subject is not a valid reference"),
    # references that merely end in Patient/<id> (FHIR R4 literal references are Type/id, optionally
    # /_history/vid, relative or after the server's base)
    ({"subject": {"reference": f"Group/g1/Patient/{PID}"}}, "subject is not a valid reference"),
    ({"subject": {"reference": f"Patient/someone-else/Patient/{PID}"}}, "subject is not a valid reference"),
    ({"subject": {"reference": f"../Patient/{PID}"}}, "subject is not a valid reference"),
    ({"subject": {"reference": f"Patient/{PID}?x=1"}}, "subject is not a valid reference"),
    ({"subject": {"reference": f"http://127.0.0.1:9/fhir/Group/g1/Patient/{PID}"}}, "subject is on another FHIR server"),
    ({"subject": {"reference": f"Patient/{PID}", "type": "Group"}}, "subject.type is not Patient"),
    ({"subject": {"reference": f"http://user@127.0.0.1:9/fhir/Patient/{PID}"}}, "subject is on another FHIR server"),
    ({"subject": {"reference": f"/Patient/{PID}"}}, "subject is not a valid reference"),
    ({"subject": {"reference": f"Patient/{PID}#frag"}}, "subject is not a valid reference"),
    ({"subject": {"reference": f"Patient/{PID}/"}}, "subject is not a valid reference"),
]


def searchset(*resources: dict, full_urls: dict | None = None) -> dict:
    urls = full_urls or {}
    return {"resourceType": "Bundle", "type": "searchset",
            "entry": [{**({"fullUrl": urls[r["id"]]} if r["id"] in urls else {}), "resource": r} for r in resources]}


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    db = tmp_path_factory.mktemp("iso") / "fb.db"
    return new_app(Settings(dev=True, auth_enabled=False, database_url=f"sqlite:///{db}")).test_client()


def call(client, conditions: dict, patient: dict | None = PATIENT, server: str = "http://127.0.0.1:9/fhir"):
    prefetch = {**{k: None for k in NULL_KEYS}, "patient": patient, "conditions": conditions}
    return client.post(SERVICE, json={"hook": "patient-view", "hookInstance": str(uuid.uuid4()), "fhirServer": server,
                                      "context": {"userId": "Practitioner/dr-a", "patientId": PID}, "prefetch": prefetch})


def topics(response) -> set[str]:
    assert response.status_code == 200, response.data[:300]
    return {c["source"]["topic"]["code"] for c in response.get_json()["cards"]}


def request_line(caplog) -> dict:
    (line,) = [r for r in caplog.records if r.name == "nerve_cds.request"]
    return line.fields


@pytest.mark.parametrize("subject, reason", FOREIGN_CES, ids=[r + str(i) for i, (_, r) in enumerate(FOREIGN_CES)])
def test_another_patients_ces_sent_as_prefetch_makes_no_ces_card(client, caplog, subject, reason):
    caplog.set_level(logging.INFO, logger="nerve_cds.request")
    r = call(client, searchset(OURS, condition("theirs", "G83.4", **subject)))
    assert not {t for t in topics(r) if t.startswith("cauda-equina")}, "another patient's CES made a CES card"
    assert "conservative-management" in topics(r)  # our own radiculopathy still counts
    assert request_line(caplog)["setAside"] == {reason: 1}
    assert "theirs" not in json.dumps(r.get_json())


def test_a_key_of_only_unattributable_resources_is_412(client):
    r = call(client, searchset(condition("theirs", "G83.4")))
    assert r.status_code == 412
    assert "conditions: nothing in it is a Condition of this patient" in r.get_json()["issue"][0]["diagnostics"]


URN = "urn:uuid:9a1b2c3d-0000-4000-8000-00000000abcd"
# The ways a resource may name the context patient: every one of them makes the CES card.
OURS_CES = {
    "relative": ({"subject": {"reference": f"Patient/{PID}"}}, {}),
    "relative with version": ({"subject": {"reference": f"Patient/{PID}/_history/3"}}, {}),
    "absolute on the fhirServer": ({"subject": {"reference": f"http://127.0.0.1:9/fhir/Patient/{PID}"}}, {}),
    "urn:uuid of the Patient's entry": ({"subject": {"reference": URN}}, {PID: URN}),
    "urn:uuid of the patient id": ({"subject": {"reference": f"urn:uuid:{PID}"}}, {}),
    "identifier the Patient carries": ({"subject": {"identifier": {"system": MRN, "value": "MRN-OURS"}}}, {}),
    "identifier typed Patient": ({"subject": {"type": "Patient", "identifier": {"system": MRN, "value": "MRN-OURS"}}}, {}),
}


@pytest.mark.parametrize("name", list(OURS_CES))
def test_every_way_of_naming_the_context_patient_still_counts(client, caplog, name):
    caplog.set_level(logging.INFO, logger="nerve_cds.request")
    subject, full_urls = OURS_CES[name]
    patient = searchset(PATIENT, full_urls=full_urls) if full_urls else PATIENT
    assert "cauda-equina-emergency" in topics(call(client, searchset(condition("ces", "G83.4", **subject)), patient))
    assert request_line(caplog)["setAside"] == {}


def test_a_urn_uuid_entry_of_another_patient_is_not_ours(client):
    other = {"resourceType": "Patient", "id": "someone-else"}
    conditions = searchset(OURS, other, condition("theirs", "G83.4", subject={"reference": URN}),
                           full_urls={"someone-else": URN})
    assert not {t for t in topics(call(client, conditions)) if t.startswith("cauda-equina")}


def test_an_identifier_cannot_be_checked_without_the_patient(client):
    """The EHR said it has no Patient resource: an identifier-only subject names nobody we know."""
    by_identifier = condition("ces", "G83.4", subject={"identifier": {"system": MRN, "value": "MRN-OURS"}})
    assert not {t for t in topics(call(client, searchset(OURS, by_identifier), patient=None)) if t.startswith("cauda")}


def test_fetched_from_a_real_fhir_server_another_patients_ces_by_identifier_is_set_aside(fhir_base_url, tmp_path, caplog):
    """On sekmet-fhir a Condition may name its patient by identifier only; a proxy that mixes up
    searches answers the Condition search with another patient's CES (by identifier) next to our
    own radiculopathy (by our identifier). The other patient's CES makes no card; ours counts."""
    headers = {"Content-Type": "application/fhir+json", "Accept": "application/fhir+json"}
    tag = uuid.uuid4().hex[:8]
    ours = condition(f"iso-ours-{tag}", "M54.16", subject={"identifier": {"system": MRN, "value": "MRN-OURS"}})
    theirs = condition(f"iso-theirs-{tag}", "G83.4", subject={"identifier": {"system": MRN, "value": "MRN-SOMEONE-ELSE"}})
    for resource in (PATIENT, ours, theirs):
        stored = requests.put(f"{fhir_base_url}/{resource['resourceType']}/{resource['id']}", json=resource, headers=headers, timeout=30)
        assert stored.status_code in (200, 201), stored.text[:300]

    def mixed_up(path: str) -> str:
        return f"/Condition?_id={ours['id']},{theirs['id']}" if path.startswith("/Condition?") else path

    caplog.set_level(logging.INFO, logger="nerve_cds.request")
    app = new_app(Settings(dev=True, auth_enabled=False, database_url=f"sqlite:///{tmp_path}/fb.db")).test_client()
    with RecordingProxy(fhir_base_url, refuse_batch=True, rewrite=mixed_up) as proxy:
        r = app.post(SERVICE, json={"hook": "patient-view", "hookInstance": str(uuid.uuid4()), "fhirServer": proxy.base_url,
                                    "context": {"userId": "Practitioner/dr-a", "patientId": PID}})
    assert any(s["path"].startswith("/fhir/Condition?") for s in proxy.seen)  # really fetched
    assert not {t for t in topics(r) if t.startswith("cauda-equina")}, "another patient's CES made a CES card"
    assert "conservative-management" in topics(r)
    fields = request_line(caplog)
    assert fields["prefetch"]["conditions"] == "fetched"
    assert fields["setAside"] == {"subject.identifier is not the patient's": 1}
