"""A pasted request, or `nerve-cds explain --request`, with a prefetch the hook endpoint would not
use (a 412 there) shows the problem instead of "No cards": the workbench runs the same check."""
from __future__ import annotations

import json
import uuid
from datetime import date

import pytest
from click.testing import CliRunner

from cds_service.tools.cli import main
from tests.helpers.apps import new_app
from tests.helpers.workbench import dev_settings, form_token

ICD = "http://hl7.org/fhir/sid/icd-10-cm"
ACTIVE = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]}
KEYS = ("observations", "serviceRequests", "procedures", "imagingStudies", "diagnosticReports",
        "medicationStatements", "carePlans", "medicationRequests", "measurements")


def condition(cid: str, code: str, patient: str = "p1") -> dict:
    return {"resourceType": "Condition", "id": cid, "clinicalStatus": ACTIVE, "onsetDateTime": date.today().isoformat(),
            "subject": {"reference": f"Patient/{patient}"}, "code": {"coding": [{"system": ICD, "code": code}]}}


CES = [condition("c1", "M54.16"), condition("c2", "R33.9")]
UNUSABLE = {
    "an entry list holding a string": {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": CES[0]}, "junk", {"resource": CES[1]}]},
    "entry is a string": {"resourceType": "Bundle", "type": "searchset", "entry": "junk"},
    "a resource that is a list": {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": [CES[0]]}, {"resource": [CES[1]]}]},
    "the key is a JSON list": CES,
}


def request_body(conditions) -> dict:
    prefetch = {**dict.fromkeys(KEYS), "patient": {"resourceType": "Patient", "id": "p1"}, "conditions": conditions}
    return {"hook": "patient-view", "hookInstance": str(uuid.uuid4()),
            "context": {"userId": "Practitioner/x", "patientId": "p1"}, "prefetch": prefetch}


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    return new_app(dev_settings(tmp_path_factory.mktemp("wb"))).test_client()


def paste(client, body: dict):
    return client.post("/workbench/explain", data={"request": json.dumps(body), "csrf_token": form_token(client)},
                       headers={"Origin": "http://localhost"})


def test_a_usable_paste_still_explains(client):
    page = paste(client, request_body({"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": c} for c in CES]}))
    assert page.status_code == 200 and "Possible cauda equina" in page.get_data(as_text=True)


@pytest.mark.parametrize("name", list(UNUSABLE))
def test_an_unusable_prefetch_key_is_shown_not_no_cards(client, name):
    body = request_body(UNUSABLE[name])
    assert client.post("/cds-services/nerve-cds-patient-view", json=body).status_code == 412  # the hook endpoint
    page = paste(client, body)
    text = page.get_data(as_text=True)
    assert page.status_code == 400 and "prefetch &#39;conditions&#39; cannot be used" in text, text[:2000]


def test_a_key_of_another_patients_data_is_shown_not_no_cards(client):
    page = paste(client, request_body({"resourceType": "Bundle", "type": "searchset",
                                       "entry": [{"resource": condition(c["id"], "R33.9", "p2")} for c in CES]}))
    text = page.get_data(as_text=True)
    assert page.status_code == 400 and "conditions: nothing in it is a Condition of this patient" in text


def test_explain_request_shows_the_problem(tmp_path):
    path = tmp_path / "request.json"
    path.write_text(json.dumps(request_body(UNUSABLE["entry is a string"])))
    result = CliRunner().invoke(main, ["explain", "--request", str(path)])
    assert result.exit_code == 1 and "prefetch 'conditions' cannot be used: it is malformed (entry is not a list)" in result.output
