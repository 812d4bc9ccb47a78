"""Prefetch exactly as CDS Hooks 2.0 says, and the fallback fetch against a real FHIR server."""
from __future__ import annotations

import time
import uuid
from datetime import date

import pytest
import requests

from cds_service.core.settings import Settings
from tests.helpers.apps import SERVING, new_app
from tests.helpers.fault_servers import Misbehaving, RecordingProxy, SilentSocket, closed_port_url, reply
from tests.helpers.tokens import Issuer, bearer, write_trust_file

SERVICE = "/cds-services/nerve-cds-patient-view"
PID = "pf-patient"


@pytest.fixture(scope="module")
def patient(fhir_base_url):
    """One patient with a lumbar radiculopathy and 25 Observations (pages of 10 with _count=10)."""
    entries = [{"resource": {"resourceType": "Patient", "id": PID, "birthDate": "1980-05-01"},
                "request": {"method": "PUT", "url": f"Patient/{PID}"}},
               {"resource": {"resourceType": "Condition", "id": "pf-c1", "subject": {"reference": f"Patient/{PID}"},
                             "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]},
                             "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "M54.16"}]},
                             "onsetDateTime": "2026-01-01"},
                "request": {"method": "PUT", "url": "Condition/pf-c1"}}]
    for i in range(25):
        entries.append({"resource": {"resourceType": "Observation", "id": f"pf-o{i}", "status": "final",
                                     "subject": {"reference": f"Patient/{PID}"},
                                     "code": {"coding": [{"system": "http://loinc.org", "code": "72514-3"}]},
                                     "valueInteger": 5, "effectiveDateTime": f"2026-02-{i % 28 + 1:02d}"},
                        "request": {"method": "PUT", "url": f"Observation/pf-o{i}"}})
    # The retention flag lives only on page 3 of the observations: it must be found by paging.
    entries.append({"resource": {"resourceType": "Observation", "id": "pf-flag", "status": "final",
                                 "subject": {"reference": f"Patient/{PID}"},
                                 "code": {"coding": [{"system": "http://snomed.info/sct", "code": "267064002"}]},
                                 "valueBoolean": True, "effectiveDateTime": date.today().isoformat()},
                    "request": {"method": "PUT", "url": "Observation/pf-flag"}})
    r = requests.post(fhir_base_url, json={"resourceType": "Bundle", "type": "transaction", "entry": entries}, timeout=30)
    assert r.status_code == 200
    return PID


def make_app(tmp_path, allow=(), dev=True, **more):
    settings = Settings(dev=dev, auth_enabled=False, database_url=f"sqlite:///{tmp_path}/fb.db",
                        fhir_allowlist=tuple(allow), fhir_connect_timeout=0.5, fhir_read_timeout=1.0, **more)
    return new_app(settings)


def request(fhir_server=None, prefetch=None, token=None):
    body = {"hook": "patient-view", "hookInstance": str(uuid.uuid4()),
            "context": {"userId": "Practitioner/dr-a", "patientId": PID}}
    if fhir_server:
        body["fhirServer"] = fhir_server
    if prefetch is not None:
        body["prefetch"] = prefetch
    if token:
        body["fhirAuthorization"] = {"access_token": token, "token_type": "Bearer", "expires_in": 300,
                                     "scope": "patient/*.read", "subject": "nerve-cds"}
    return body


def topics(response):
    return {c["source"]["topic"]["code"] for c in response.get_json()["cards"]}


def test_absent_keys_are_fetched_in_one_batch_round_trip(tmp_path, patient, fhir_base_url):
    with RecordingProxy(fhir_base_url) as proxy:
        app = make_app(tmp_path, allow=[proxy.base_url])
        r = app.test_client().post(SERVICE, json=request(proxy.base_url))
    assert r.status_code == 200
    # every key in one batch; 26 observations fit the templates' _count=100 page
    assert [s["method"] for s in proxy.seen] == ["POST"], proxy.seen
    assert "cauda-equina-emergency" in topics(r)


def test_full_prefetch_makes_no_fhir_call(tmp_path, patient, fhir_base_url):
    prefetch = {"patient": {"resourceType": "Patient", "id": PID}, "conditions": None, "observations": None,
                "measurements": None, "renalFunction": None, "serviceRequests": None, "procedures": None, "imagingStudies": None,
                "diagnosticReports": None, "medicationStatements": None, "carePlans": None, "medicationRequests": None,
                "devices": None, "allergies": None}
    with RecordingProxy(fhir_base_url) as proxy:
        app = make_app(tmp_path, allow=[proxy.base_url])
        r = app.test_client().post(SERVICE, json=request(proxy.base_url, prefetch))
    assert r.status_code == 200 and proxy.seen == []
    assert r.get_json()["cards"] == []  # null means the client found nothing: nothing is refetched


def test_null_key_is_not_refetched_but_absent_and_outcome_keys_are(tmp_path, patient, fhir_base_url):
    prefetch = {"conditions": None,
                "observations": {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "timeout"}]}}
    with RecordingProxy(fhir_base_url) as proxy:
        app = make_app(tmp_path, allow=[proxy.base_url])
        r = app.test_client().post(SERVICE, json=request(proxy.base_url, prefetch))
    assert r.status_code == 200
    fetched_paths = [s["path"] for s in proxy.seen]
    assert not any("Condition" in p for p in fetched_paths)
    assert "cauda-equina-emergency" not in topics(r)  # no radicular context: conditions were null
    assert "cauda-equina-urgent" in topics(r)  # observations were refetched: the retention flag counts


def test_sent_searchset_with_next_link_is_followed(tmp_path, patient, fhir_base_url):
    with RecordingProxy(fhir_base_url) as proxy:
        first = requests.get(f"{proxy.base_url}/Observation?patient={PID}&_count=10", timeout=10).json()
        proxy.seen.clear()
        assert any(l["relation"] == "next" for l in first["link"])
        conditions = requests.get(f"{fhir_base_url}/Condition?patient={PID}", timeout=10).json()
        prefetch = {"observations": first, "conditions": conditions, "patient": {"resourceType": "Patient", "id": PID},
                    "measurements": None, "renalFunction": None, "serviceRequests": None, "procedures": None, "imagingStudies": None,
                    "diagnosticReports": None, "medicationStatements": None, "carePlans": None, "medicationRequests": None,
                    "devices": None, "allergies": None}
        app = make_app(tmp_path, allow=[proxy.base_url])
        r = app.test_client().post(SERVICE, json=request(proxy.base_url, prefetch))
    assert r.status_code == 200
    assert [s["method"] for s in proxy.seen] == ["GET", "GET"]  # pages 2 and 3, nothing else
    assert "cauda-equina-emergency" in topics(r)


def test_page_cap_advises_on_the_pages_read_and_says_the_rest_was_not(tmp_path, patient, fhir_base_url):
    """Issue #19: past the page cap the key is read in part, not refused (a 412 gave no advice at all)."""
    with RecordingProxy(fhir_base_url) as proxy:
        first = requests.get(f"{proxy.base_url}/Observation?patient={PID}&_count=5", timeout=10).json()
        proxy.seen.clear()
        app = make_app(tmp_path, allow=[proxy.base_url], fhir_max_pages=3)
        r = app.test_client().post(SERVICE, json=request(proxy.base_url, {"observations": first}))
    assert r.status_code == 200
    assert sum(1 for s in proxy.seen if s["method"] == "GET" and "_offset" in s["path"]) == 2  # pages 2 and 3 only
    cards = r.get_json()["cards"]
    incomplete = [c for c in cards if c["source"]["topic"]["code"] == "record-incomplete"]
    assert len(incomplete) == 1 and incomplete[0]["indicator"] == "warning"
    assert "observations of symptoms and signs" in incomplete[0]["detail"]
    assert all("Part of the record was not read" in c["detail"] for c in cards if c is not incomplete[0])


def test_bearer_token_is_sent_when_given_and_absent_when_not(tmp_path, patient, fhir_base_url):
    with RecordingProxy(fhir_base_url) as proxy:
        app = make_app(tmp_path, allow=[proxy.base_url])
        client = app.test_client()
        assert client.post(SERVICE, json=request(proxy.base_url, token="tok-abc")).status_code == 200
        with_token = list(proxy.seen)
        proxy.seen.clear()
        assert client.post(SERVICE, json=request(proxy.base_url)).status_code == 200
    assert with_token and all(s["headers"].get("Authorization") == "Bearer tok-abc" for s in with_token)
    assert proxy.seen and all("Authorization" not in s["headers"] for s in proxy.seen)


def test_refused_batch_falls_back_to_individual_reads(tmp_path, patient, fhir_base_url):
    with RecordingProxy(fhir_base_url, refuse_batch=True) as proxy:
        app = make_app(tmp_path, allow=[proxy.base_url])
        r = app.test_client().post(SERVICE, json=request(proxy.base_url))
    assert r.status_code == 200
    gets = {s["path"].split("?")[0] for s in proxy.seen if s["method"] == "GET"}
    assert {"/fhir/Condition", "/fhir/Observation", f"/fhir/Patient/{PID}"} <= gets
    assert "cauda-equina-emergency" in topics(r)


def test_server_down_gives_412_naming_the_keys(tmp_path):
    url = closed_port_url()
    r = make_app(tmp_path).test_client().post(SERVICE, json=request(url))
    assert r.status_code == 412
    outcome = r.get_json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert "conditions" in outcome["issue"][0]["diagnostics"] and "could not be reached" in outcome["issue"][0]["diagnostics"]


def test_silent_server_gives_412_within_seconds(tmp_path):
    with SilentSocket() as silent:
        started = time.monotonic()
        r = make_app(tmp_path).test_client().post(SERVICE, json=request(silent.base_url))
        elapsed = time.monotonic() - started
    assert r.status_code == 412 and elapsed < 6
    assert "did not answer in time" in r.get_json()["issue"][0]["diagnostics"]


@pytest.mark.parametrize("status, body, expected", [
    (401, b'{"resourceType":"OperationOutcome"}', "refused access (401)"),
    (403, b'{"resourceType":"OperationOutcome"}', "refused access (403)"),
    (500, b'{"resourceType":"OperationOutcome"}', "answered 500"),
    (200, b'{"resourceType": "Bundle", "entry": [', "not JSON"),
])
def test_misbehaving_server_gives_412(tmp_path, status, body, expected):
    with Misbehaving(reply(status, body)) as bad:
        r = make_app(tmp_path).test_client().post(SERVICE, json=request(bad.base_url))
    assert r.status_code == 412
    assert expected in r.get_json()["issue"][0]["diagnostics"]


def test_oversize_response_is_cut_off(tmp_path):
    huge = b'{"resourceType":"Bundle","type":"searchset","entry":[' + b'{"resource":{"resourceType":"Basic"}},' * 50000 + b'{}]}'
    with Misbehaving(reply(200, huge)) as bad:
        r = make_app(tmp_path, fhir_max_response_bytes=100_000).test_client().post(SERVICE, json=request(bad.base_url))
    assert r.status_code == 412
    assert "over 100000 bytes" in r.get_json()["issue"][0]["diagnostics"]


def test_redirect_is_not_followed(tmp_path):
    with Misbehaving(reply(200, b'{"resourceType":"Patient","id":"x"}')) as elsewhere:
        with Misbehaving(reply(302, b"", headers={"Location": elsewhere.base_url + "/Patient/x"})) as redirecting:
            r = make_app(tmp_path).test_client().post(SERVICE, json=request(redirecting.base_url))
        assert elsewhere.count == 0
    assert r.status_code == 412 and "redirect" in r.get_json()["issue"][0]["diagnostics"]


def test_disallowed_server_is_never_contacted(tmp_path):
    with Misbehaving(reply(200, b"{}")) as listener:
        app = make_app(tmp_path, allow=["https://ehr.example.org/fhir"], dev=True)
        r = app.test_client().post(SERVICE, json=request(listener.base_url))
        assert listener.count == 0
    assert r.status_code == 412
    assert "allowlist" in r.get_json()["issue"][0]["diagnostics"]


def production_app(tmp_path, allow):
    """A non-dev app (authentication on) and headers for one trusted client."""
    issuer = Issuer("https://ehr.example.org")
    app = make_app(tmp_path, allow=allow, dev=False, **SERVING, trust_file=write_trust_file(tmp_path, {"issuer": issuer}))
    return app, bearer(issuer.token("http://localhost" + SERVICE))


def test_disallowed_server_is_fine_when_prefetch_suffices(tmp_path):
    prefetch = {k: None for k in ("conditions", "observations", "serviceRequests", "procedures",
                                  "imagingStudies", "diagnosticReports", "medicationStatements", "carePlans", "medicationRequests")}
    prefetch["patient"] = {"resourceType": "Patient", "id": PID}
    with Misbehaving(reply(200, b"{}")) as listener:
        app, headers = production_app(tmp_path, ["https://ehr.example.org/fhir"])
        r = app.test_client().post(SERVICE, json=request(listener.base_url, prefetch), headers=headers)
        assert listener.count == 0
    assert r.status_code == 200


def test_plain_http_refused_outside_dev_mode(tmp_path, fhir_base_url):
    app, headers = production_app(tmp_path, [fhir_base_url])
    r = app.test_client().post(SERVICE, json=request(fhir_base_url), headers=headers)
    assert r.status_code == 412 and "https" in r.get_json()["issue"][0]["diagnostics"]


def test_plain_http_allowed_for_allowlisted_server_when_operator_opts_in(tmp_path, patient, fhir_base_url):
    from cds_service.data.fhir import ServerNotAllowed, check_server
    with pytest.raises(ServerNotAllowed):
        check_server("http://hapi:8080/fhir", ["http://hapi:8080/fhir"], dev=False)
    check_server("http://hapi:8080/fhir", ["http://hapi:8080/fhir"], dev=False, allow_http=True)
    with pytest.raises(ServerNotAllowed):  # opting in to http does not widen the allowlist
        check_server("http://other:8080/fhir", ["http://hapi:8080/fhir"], dev=False, allow_http=True)
    with pytest.raises(ServerNotAllowed):  # path prefix matches on segment boundaries
        check_server("http://hapi:8080/fhirx", ["http://hapi:8080/fhir"], dev=False, allow_http=True)
