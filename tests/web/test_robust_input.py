"""Hostile or sloppy input through the real app: every case is a 2xx or a 4xx naming the problem,
never a 500, and a draft a card copies is always sent back as valid R4 with nothing live in Markdown."""
from __future__ import annotations

import json
import logging
import re
import uuid
from datetime import date, timedelta

import pytest
from fhir.resources.R4B.servicerequest import ServiceRequest

from cds_service.core.settings import Settings
from cds_service.data.scenarios import load_scenario
from tests.helpers.apps import new_app
from tests.helpers.calls import issue_card

KEYS = ("patient", "conditions", "observations", "serviceRequests", "procedures", "imagingStudies",
        "diagnosticReports", "medicationStatements")
PID = "p-9"
ACTIVE = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]}
CES = {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": {
    "resourceType": "Condition", "id": "c-1", "subject": {"reference": f"Patient/{PID}"}, "clinicalStatus": ACTIVE,
    "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "G83.4"}]}}}]}
MRI = {"system": "http://www.ama-assn.org/go/cpt", "code": "72148"}


@pytest.fixture
def client(tmp_path):
    return new_app(Settings(dev=True, auth_enabled=False, database_url=f"sqlite:///{tmp_path}/fb.db",
                            pama_system_actions=True, max_body_bytes=50_000)).test_client()


def outcome(response, status):
    assert response.status_code == status, response.data[:400]
    body = response.get_json()
    assert body["resourceType"] == "OperationOutcome"
    return body["issue"][0]["diagnostics"]


def patient_view(prefetch=None):
    return {"hook": "patient-view", "hookInstance": str(uuid.uuid4()),
            "context": {"userId": "Practitioner/a", "patientId": PID},
            "prefetch": {**{k: None for k in KEYS}, **(prefetch or {})}}


def order_select(draft, conditions=CES):
    return {"hook": "order-select", "hookInstance": str(uuid.uuid4()),
            "prefetch": {**{k: None for k in KEYS}, "conditions": conditions},
            "context": {"userId": "Practitioner/a", "patientId": PID, "selections": [f"ServiceRequest/{draft['id']}"],
                        "draftOrders": {"resourceType": "Bundle", "entry": [{"resource": draft}]}}}


# 1. nesting --------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/cds-services/nerve-cds-patient-view", "/cds-services/nerve-cds-patient-view/feedback"])
@pytest.mark.parametrize("depth", [100, 20_000])
def test_deeply_nested_json_is_400(client, path, depth):
    body = '{"hook": "patient-view", "extension": {"x": ' + "[" * depth + "]" * depth + "}}"
    assert "nested more than" in outcome(client.post(path, data=body, content_type="application/json"), 400)


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_not_json(client, literal):
    body = json.dumps(patient_view()).replace('"prefetch"', f'"x": {literal}, "prefetch"')
    assert "not valid JSON" in outcome(client.post("/cds-services/nerve-cds-patient-view", data=body,
                                                   content_type="application/json"), 400)


# 2. numbers beyond float range -------------------------------------------------------------------
def potassium(oid, value, day, **more):
    return {"resourceType": "Observation", "id": oid, "status": "final", "subject": {"reference": f"Patient/{PID}"},
            "code": {"coding": [{"system": "http://loinc.org", "code": "2823-3"}]}, "effectiveDateTime": day,
            "valueQuantity": {"value": value, "unit": "mmol/L", "code": "mmol/L"}, **more}


def days_ago(days: int) -> str:
    """A date inside the look-back and episode windows whatever day the suite runs."""
    return (date.today() - timedelta(days=days)).isoformat()


@pytest.mark.parametrize("huge", ["1e400", str(10 ** 400), "-1e400"])
def test_lab_value_beyond_float_range_is_ignored_with_a_note(client, caplog, huge):
    """The out-of-range value is the latest potassium: it is ignored (noted), and the earlier low
    value still gives the low-potassium card instead of a 500."""
    twitch = {"resourceType": "Condition", "id": "tw", "subject": {"reference": f"Patient/{PID}"}, "clinicalStatus": ACTIVE,
              "code": {"coding": [{"system": "http://snomed.info/sct", "code": "82470000"}]}, "onsetDateTime": days_ago(40)}
    observations = {"resourceType": "Bundle", "type": "searchset", "entry": [
        {"resource": potassium("k-low", 2.9, days_ago(20))},
        {"resource": potassium("k-huge", 1234567, days_ago(19), referenceRange=[{"low": {"value": 3.5}}])}]}
    body = json.dumps(patient_view({"observations": observations,
                                    "conditions": {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": twitch}]}}))
    body = body.replace("1234567", huge)
    caplog.set_level(logging.INFO, logger="nerve_cds.request")
    r = client.post("/cds-services/nerve-cds-patient-view", data=body, content_type="application/json")
    assert r.status_code == 200, r.data[:300]
    (line,) = [rec for rec in caplog.records if rec.name == "nerve_cds.request"]
    assert line.fields["dataQualityNotes"] >= 1
    assert "electrolyte-contributor" in {c["source"]["topic"]["code"] for c in r.get_json()["cards"]}
    assert "2.9" in json.dumps(r.get_json())


def test_graded_value_beyond_float_range_is_not_a_500(client):
    weakness = {"resourceType": "Observation", "id": "mrc", "status": "final", "subject": {"reference": f"Patient/{PID}"},
                "code": {"coding": [{"system": "http://snomed.info/sct", "code": "26544005"}]},
                "effectiveDateTime": "2026-02-01", "valueInteger": 7}
    body = json.dumps(patient_view({"observations": {"resourceType": "Bundle", "entry": [{"resource": weakness}]}}))
    r = client.post("/cds-services/nerve-cds-patient-view", data=body.replace('"valueInteger": 7', f'"valueInteger": {10 ** 400}'),
                    content_type="application/json")
    assert r.status_code == 200


# 3. drafts with empty or invalid elements --------------------------------------------------------
@pytest.mark.parametrize("broken", [
    {"reasonCode": []},  # what the CDS Hooks Sandbox sends when no reason is picked
    {"reasonCode": [{}], "note": [{"text": None}], "extension": []},
    {"note": [{"text": ""}, {"text": "keep me"}], "occurrenceDateTime": "2026-13-45"},
    {"quantityQuantity": {"value": 123456789.5}, "priority": "routine", "unknownElement": 1},  # 1e400 on the wire
    {"code": {"coding": [MRI], "text": 5}, "status": None},  # a subject of 5 is no draft of this patient's: 400
])
def test_draft_with_empty_or_invalid_elements_still_gets_its_ces_stat_update(client, broken):
    draft = {"resourceType": "ServiceRequest", "id": "mri-1", "status": "draft", "intent": "order",
             "code": {"coding": [MRI]}, **broken}
    wire = json.dumps(order_select(draft)).replace("123456789.5", "1e400")
    r = client.post("/cds-services/nerve-cds-order-select", data=wire, content_type="application/json")
    assert r.status_code == 200, r.data[:400]
    body = r.get_json()
    (card,) = [c for c in body["cards"] if c["source"]["topic"]["code"].startswith("cauda-equina")]
    (update,) = [a for s in card["suggestions"] for a in s["actions"] if a["type"] == "update"]
    resource = update["resource"]
    ServiceRequest.model_validate(resource)
    assert resource["id"] == "mri-1" and resource["priority"] == "stat" and resource["code"]["coding"][0] == MRI
    assert resource["subject"] == {"reference": f"Patient/{PID}"}
    if "note" in broken and len(broken["note"]) == 2:
        assert resource["note"] == [{"text": "keep me"}]  # what was valid is copied
    (rating,) = body["systemActions"]  # the PAMA rating copies the same draft
    ServiceRequest.model_validate(rating["resource"])


def test_empty_reason_code_does_not_break_the_ct_to_mri_update(client):
    """Scenario o03 (lumbar radiculopathy, CT drafted) with the Sandbox's empty members in the draft."""
    scenario = load_scenario(Settings().fixtures_dir, "o03-ct-when-mri-is-indicated", date.today())
    by_type: dict[str, list] = {}
    for entry in scenario.bundle["entry"]:
        by_type.setdefault(entry["resource"]["resourceType"], []).append(entry["resource"])
    prefetch = {k: None for k in KEYS}
    prefetch["patient"] = by_type["Patient"][0]
    for key, rtype in (("conditions", "Condition"), ("observations", "Observation")):
        if rtype in by_type:
            prefetch[key] = {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": r} for r in by_type[rtype]]}
    body = {**scenario.request, "hookInstance": str(uuid.uuid4()), "prefetch": prefetch}
    draft = body["context"]["draftOrders"]["entry"][0]["resource"]
    draft.update(reasonCode=[], bodySite=[{}], note=[{"text": None}])
    r = client.post(f"/cds-services/nerve-cds-{body['hook']}", json=body)
    assert r.status_code == 200, r.data[:400]
    updates = [a["resource"] for c in r.get_json()["cards"] for s in c.get("suggestions", []) for a in s["actions"]
               if a["type"] == "update"]
    assert updates and all(ServiceRequest.model_validate(u) for u in updates)
    assert any(u["code"]["coding"][0]["code"] == "72148" and u["id"] == draft["id"] for u in updates)


# 4. draft ids and owners -------------------------------------------------------------------------
@pytest.mark.parametrize("bad_id", ["has space", "a" * 65, "x/y", 5, ""])
def test_draft_id_outside_the_fhir_id_pattern_is_400_naming_it(client, bad_id):
    draft = {"resourceType": "ServiceRequest", "id": "ok", "code": {"coding": [MRI]}}
    body = order_select(draft)
    body["context"]["draftOrders"]["entry"][0]["resource"]["id"] = bad_id
    body["hook"] = "order-sign"
    del body["context"]["selections"]
    assert "entry[0].resource.id" in outcome(client.post("/cds-services/nerve-cds-order-sign", json=body), 400)


def test_draft_of_another_patient_is_400(client):
    draft = {"resourceType": "ServiceRequest", "id": "mri-1", "code": {"coding": [MRI]},
             "subject": {"reference": "https://ehr.example.org/fhir/Patient/someone-else"}}
    assert "resource is not the context patient's" in outcome(
        client.post("/cds-services/nerve-cds-order-select", json=order_select(draft)), 400)


@pytest.mark.parametrize("hook", ["order-sign", "order-select"])
def test_draft_id_with_a_trailing_newline_is_400_not_500(client, hook):
    """`$` in Python's re also matches before a final newline: "mri-1\n" once passed the id check
    and broke the response's resourceId (500)."""
    draft = {"resourceType": "ServiceRequest", "id": "mri-1\n", "status": "draft", "intent": "order", "code": {"coding": [MRI]}}
    body = order_select(draft)
    body["hook"] = hook
    if hook == "order-sign":
        del body["context"]["selections"]
    assert "entry[0].resource.id is not a FHIR id" in outcome(client.post(f"/cds-services/nerve-cds-{hook}", json=body), 400)


@pytest.mark.parametrize("field, value", [("patientId", f"{PID}\n"), ("userId", "Practitioner/a\n"), ("encounterId", "e-1\n")])
def test_context_id_with_a_trailing_newline_is_400(client, field, value):
    body = patient_view({"conditions": CES})
    body["context"][field] = value
    assert f"context.{field}" in outcome(client.post("/cds-services/nerve-cds-patient-view", json=body), 400)


def test_prefetch_resource_id_or_reference_with_a_trailing_newline_is_set_aside(client, caplog):
    caplog.set_level(logging.INFO, logger="nerve_cds.request")
    ces = CES["entry"][0]["resource"]
    newline_id = {**ces, "id": "c-2\n"}
    newline_subject = {**ces, "id": "c-3", "subject": {"reference": f"Patient/{PID}\n"}}
    order = {"resourceType": "MedicationRequest", "id": "mr-1", "status": "active", "intent": "order",
             "subject": {"reference": f"Patient/{PID}"}, "medicationReference": {"reference": "Medication/m-1\n"}}
    twitch = {**ces, "id": "tw", "code": {"coding": [{"system": "http://snomed.info/sct", "code": "82470000"}]}}
    body = patient_view({"conditions": {"resourceType": "Bundle", "type": "searchset", "entry": [
        {"resource": twitch}, {"resource": newline_id}, {"resource": newline_subject}]},
        "medicationRequests": {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": order}]}})
    body["fhirServer"] = "http://127.0.0.1:9/fhir"
    r = client.post("/cds-services/nerve-cds-patient-view", json=body)
    assert r.status_code == 200, r.data[:300]
    assert not [c for c in r.get_json()["cards"] if c["source"]["topic"]["code"].startswith("cauda-equina")]
    (line,) = [rec for rec in caplog.records if rec.name == "nerve_cds.request"]
    assert line.fields["setAside"] == {"id is not a FHIR id": 1, "subject is not a valid reference": 1}
    assert line.fields["prefetch"]["medicationRequests"] == "sent"  # "Medication/m-1\n" is no reference to read
    only = patient_view({"conditions": {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": newline_id}]}})
    assert "conditions" in outcome(client.post("/cds-services/nerve-cds-patient-view", json=only), 412)


# 5. links and calendar ends ----------------------------------------------------------------------
@pytest.mark.parametrize("url", [5, ["x"], {"a": 1}, None, True])
def test_non_string_next_link_makes_the_bundle_unusable(client, url):
    """A searchset whose next link cannot be read may hide its further pages: 412, not an empty record."""
    bundle = {"resourceType": "Bundle", "type": "searchset", "entry": [], "link": [{"relation": "next", "url": url}]}
    body = patient_view({"observations": bundle})
    body["fhirServer"] = "http://127.0.0.1:9/fhir"
    r = client.post("/cds-services/nerve-cds-patient-view", json=body)
    assert "observations: the prefetch sent is malformed (link[0].url is not a string)" in outcome(r, 412)


@pytest.mark.parametrize("links, place", [(5, "link is not a list"), ("next", "link is not a list"),
                                          ({"relation": "next"}, "link is not a list"), ([], "entry is not a list")])
def test_non_list_bundle_link_and_entry_make_the_bundle_unusable(client, links, place):
    bundle = {"resourceType": "Bundle", "type": "searchset", "entry": 7, "link": links}
    r = client.post("/cds-services/nerve-cds-patient-view", json=patient_view({"observations": bundle}))
    assert f"observations: the prefetch sent is malformed ({place})" in outcome(r, 412)


@pytest.mark.parametrize("stamp", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_feedback_timestamp_past_the_calendar_ends_is_400(client, stamp):
    body = {"feedback": [{"card": "c", "outcome": "overridden", "outcomeTimestamp": stamp}]}
    assert "outcomeTimestamp" in outcome(client.post("/cds-services/nerve-cds-patient-view/feedback", json=body), 400)


@pytest.mark.parametrize("stamp", ["0001-01-01T00:00:00-01:00", "9999-12-31T23:59:59+01:00"])
def test_feedback_timestamp_at_the_calendar_ends_within_range_is_stored(client, stamp):
    _, card = issue_card(client)
    body = {"feedback": [{"card": card["uuid"], "outcome": "overridden", "outcomeTimestamp": stamp}]}
    assert client.post("/cds-services/nerve-cds-patient-view/feedback", json=body).status_code == 200


# 6. Markdown -------------------------------------------------------------------------------------
def test_draft_fields_in_markdown_are_escaped(client):
    draft = {"resourceType": "ServiceRequest", "id": "mri-1", "status": "draft", "intent": "order",
             "priority": {"evil": "[click](https://evil.example)"},
             "code": {"coding": [MRI], "text": "MRI [click me](https://evil.example) <img src=x> **now** www.evil.example"}}
    r = client.post("/cds-services/nerve-cds-order-select", json=order_select(draft))
    assert r.status_code == 200, r.data[:300]
    (card,) = [c for c in r.get_json()["cards"] if c["source"]["topic"]["code"].startswith("cauda-equina")]
    line = next(l for l in card["detail"].splitlines() if "Draft order" in l)
    assert "[click me](" not in line and "\\[click me\\]" in line
    assert not re.search(r"(?<!\\)<img", line) and "\\<img" in line and "\\*\\*now\\*\\*" in line
    assert "https://evil" not in line and "www.evil" not in line  # no bare autolinks either
    assert "{'evil'" not in card["detail"] and "priority routine" in line  # no Python repr of input


# 10. Connection: close ---------------------------------------------------------------------------
def test_413_says_connection_close(client):
    big = patient_view()
    big["extension"] = {"pad": "x" * 60_000}
    r = client.post("/cds-services/nerve-cds-patient-view", json=big)
    assert r.status_code == 413 and r.headers.get("Connection") == "close"


def test_reply_before_the_body_was_read_says_connection_close_and_normal_replies_do_not(client):
    r = client.post("/cds-services/nerve-cds-patient-view", data="hook=x", content_type="application/x-www-form-urlencoded")
    assert r.status_code == 415 and r.headers.get("Connection") == "close"
    r = client.post("/cds-services/nerve-cds-patient-view", json=patient_view())
    assert r.status_code == 200 and "Connection" not in r.headers


def test_record_ids_outside_the_fhir_id_pattern_are_never_referenced(client):
    """A created order's reasonReference names only resources we can reference: a record's id
    that is not a FHIR id (or not a string) still counts as evidence but is not sent back."""
    odd = [dict(CES["entry"][0]["resource"], id=odd_id) for odd_id in ("has space", {"a": 1}, "x" * 65)]
    conditions = {"resourceType": "Bundle", "entry": [{"resource": r} for r in [*odd, CES["entry"][0]["resource"]]]}
    r = client.post("/cds-services/nerve-cds-patient-view", json=patient_view({"conditions": conditions}))
    assert r.status_code == 200, r.data[:300]
    creates = [a["resource"] for c in r.get_json()["cards"] for s in c.get("suggestions", []) for a in s["actions"]
               if a["type"] == "create" and "reasonReference" in a["resource"]]
    assert creates
    for resource in creates:
        ServiceRequest.model_validate(resource)
        assert resource["reasonReference"] == [{"reference": "Condition/c-1"}]
