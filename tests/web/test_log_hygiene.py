"""No access token, JWT or patient data in any log record, whoever logs it.

A representative set of calls goes through the real app served by a real werkzeug server, with every
record captured at DEBUG: our loggers (also as the JSON lines they write to stderr), the root logger,
werkzeug and urllib3. Each secret used is then searched for in all of it."""
from __future__ import annotations

import json
import logging
import threading
import uuid

import pytest
import requests
from werkzeug.serving import make_server

from cds_service.core.settings import Settings
from cds_service.web.logs import JsonFormatter
from tests.helpers.apps import new_app
from tests.helpers.fault_servers import Misbehaving, SilentSocket, reply
from tests.helpers.fhir_server import free_port
from tests.helpers.tokens import Issuer, bearer, write_trust_file

SERVICE = "/cds-services/nerve-cds-patient-view"


class Everything(logging.Handler):
    """Keeps every record, formatted by us and as raw attributes (args, extra fields)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.texts: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.texts.append(JsonFormatter().format(record) + " " + repr(record.__dict__))


@pytest.fixture
def captured(caplog):
    caplog.set_level(logging.DEBUG)
    handler = Everything()
    loggers = [logging.getLogger(name) for name in ("", "werkzeug", "nerve_cds", "urllib3")]
    saved = [(lg, lg.level) for lg in loggers]
    for lg in loggers:
        lg.addHandler(handler)
        lg.setLevel(logging.DEBUG)
    yield handler
    for lg, level in saved:
        lg.removeHandler(handler)
        lg.setLevel(level)


@pytest.fixture
def served(tmp_path, fhir_base_url):
    """The real app on a real socket; returns (base URL, issuer, failing FHIR server URL)."""
    ehr = Issuer("https://ehr.example.org")
    marker_holder = {}
    failing = Misbehaving(lambda h: reply(500, json.dumps({"resourceType": "OperationOutcome", "issue": [
        {"severity": "error", "code": "exception", "diagnostics": marker_holder["marker"]}]}).encode())(h))
    with failing, SilentSocket() as untrusted:
        port = free_port()
        settings = Settings(database_url=f"sqlite:///{tmp_path}/fb.db", dev=True, log_level="DEBUG",
                            trust_file=write_trust_file(tmp_path, {"issuer": ehr}), public_base_url=f"http://127.0.0.1:{port}",
                            fhir_allowlist=(fhir_base_url, failing.base_url))
        server = make_server("127.0.0.1", port, new_app(settings), threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield {"base": f"http://127.0.0.1:{server.server_port}", "ehr": ehr, "failing": failing.base_url,
                   "untrusted": untrusted.base_url, "fhir": fhir_base_url, "marker": marker_holder}
        finally:
            server.shutdown()
            server.server_close()


def hook_request(fhir_server: str, access_token: str, marker: str, full_prefetch: bool = False) -> dict:
    patient = {"resourceType": "Patient", "id": "hyg-patient", "name": [{"family": marker, "given": [marker]}],
               "telecom": [{"system": "phone", "value": marker}]}
    condition = {"resourceType": "Condition", "id": "hyg-c", "subject": {"reference": "Patient/hyg-patient"},
                 "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "M54.16"}], "text": marker},
                 "note": [{"text": marker}],
                 "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                                                "code": "active"}]}}
    prefetch = {"patient": patient, "conditions": {"resourceType": "Bundle", "type": "searchset",
                                                   "entry": [{"resource": condition}]}}
    if full_prefetch:
        for key in ("observations", "serviceRequests", "procedures", "imagingStudies", "diagnosticReports",
                    "medicationStatements", "carePlans", "medicationRequests"):
            prefetch[key] = {"resourceType": "Bundle", "type": "searchset", "entry": []}
    return {
        "hook": "patient-view", "hookInstance": str(uuid.uuid4()), "fhirServer": fhir_server,
        "fhirAuthorization": {"access_token": access_token, "token_type": "Bearer", "expires_in": 60,
                              "scope": "patient/*.read", "subject": "nerve-cds"},
        "context": {"userId": "Practitioner/dr-x", "patientId": "hyg-patient"},
        "prefetch": prefetch,
    }


def test_no_secret_or_patient_data_in_any_log_record(served, captured, capfd):
    base, ehr = served["base"], served["ehr"]
    marker = "Zebediah" + uuid.uuid4().hex[:8]
    served["marker"]["marker"] = marker
    access_token = "at-" + uuid.uuid4().hex
    tokens: list[str] = []

    def jwt_for(path: str, issuer: Issuer = ehr, **kw) -> str:
        token = issuer.token(base + path, **kw)
        tokens.append(token)
        return token

    def post(path, body, token):
        return requests.post(base + path, json=body, headers=bearer(token), timeout=30).status_code

    expected = [
        # discovery: valid, forged issuer, garbage, aud of another endpoint, replay
        (requests.get(base + "/cds-services", headers=bearer(jwt_for("/cds-services")), timeout=30).status_code, 200),
        (requests.get(base + "/cds-services", headers=bearer(jwt_for("/cds-services", Issuer("https://evil.example"))),
                      timeout=30).status_code, 401),
        (requests.get(base + "/cds-services", headers=bearer("not-a-jwt-" + access_token), timeout=30).status_code, 401),
        (requests.get(base + "/cds-services", headers=bearer(jwt_for(SERVICE)), timeout=30).status_code, 401),
        (requests.get(base + "/cds-services", headers=bearer(tokens[0]), timeout=30).status_code, 401),
        # hook calls: served from prefetch, fetched with the access token, a failing FHIR server echoing
        # patient data in its error, a FHIR server that is not allowed
        (post(SERVICE, hook_request(served["fhir"], access_token, marker, full_prefetch=True), jwt_for(SERVICE)), 200),
        (post(SERVICE, hook_request(served["fhir"], access_token, marker), jwt_for(SERVICE)), 200),
        (post(SERVICE, hook_request(served["failing"], access_token, marker), jwt_for(SERVICE)), 412),
        (post(SERVICE, hook_request(served["untrusted"], access_token, marker), jwt_for(SERVICE)), 412),
        (post(SERVICE, {**hook_request(served["fhir"], access_token, marker), "hook": marker}, jwt_for(SERVICE)), 400),
        (post(SERVICE, hook_request(served["fhir"], access_token, marker), jwt_for("/cds-services")), 401),
    ]
    card = requests.post(base + SERVICE, json=hook_request(served["fhir"], access_token, marker, full_prefetch=True),
                         headers=bearer(jwt_for(SERVICE)), timeout=30).json()["cards"][0]["uuid"]
    expected += [
        # feedback: accepted, and refused with patient data in the rejected field
        (post(SERVICE + "/feedback", {"feedback": [{"card": card, "outcome": "accepted",
                                                    "acceptedSuggestions": [{"id": str(uuid.uuid4())}],
                                                    "outcomeTimestamp": "2026-11-24T10:00:00Z"}]},
              jwt_for(SERVICE + "/feedback")), 200),
        (post(SERVICE + "/feedback", {"feedback": [{"card": marker, "outcome": "overridden",
                                                    "outcomeTimestamp": marker}]},
              jwt_for(SERVICE + "/feedback")), 400),
    ]
    assert [status for status, _ in expected] == [want for _, want in expected]

    out, err = capfd.readouterr()
    everything = "\n".join(captured.texts) + "\n" + out + "\n" + err
    # the capture really saw the traffic: request lines, refusals with their jti, werkzeug's access log
    assert "hookInstance" in everything and "client authentication failed" in everything
    assert '"GET /cds-services HTTP/1.1" 401' in everything
    assert json.loads(json.dumps(everything))  # plain text, nothing binary hiding a secret
    secrets = [access_token, marker] + tokens + [t.split(".")[2] for t in tokens]
    leaked = [s[:16] for s in secrets if s in everything]
    assert leaked == []
