"""The CDS Hooks HTTP surface: discovery, status codes, OperationOutcome bodies, health checks."""
from __future__ import annotations

from dataclasses import replace

import pytest

from cds_service import create_app
from cds_service.core.settings import Settings
from cds_service.library.loader import load_library
from tests.helpers.apps import SERVING, new_app
from tests.helpers.calls import CES, NULL_PREFETCH, SERVICE, hook, outcome


@pytest.fixture
def client(tmp_path):
    return new_app(Settings(dev=True, auth_enabled=False, database_url=f"sqlite:///{tmp_path}/fb.db",
                            max_body_bytes=50_000)).test_client()


def test_discovery_lists_one_service_per_hook(client):
    services = client.get("/cds-services").get_json()["services"]
    assert sorted(s["hook"] for s in services) == ["order-select", "order-sign", "patient-view"]
    for s in services:
        assert s["id"] and s["description"] and s["title"] and s["usageRequirements"]
        assert s["prefetch"]["conditions"] == "Condition?patient={{context.patientId}}&_count=1000"
        assert set(s) <= {"hook", "id", "title", "description", "prefetch", "usageRequirements"}


def test_no_guidance_is_an_empty_card_list(client):
    r = client.post(SERVICE, json=hook())
    assert r.status_code == 200 and r.get_json() == {"cards": []}


def test_unknown_service_is_404(client):
    assert "no CDS service" in outcome(client.post("/cds-services/nope", json=hook()), 404)["diagnostics"]


def test_not_json_is_415(client):
    r = client.post(SERVICE, data="hook=patient-view", content_type="application/x-www-form-urlencoded")
    assert "application/json" in outcome(r, 415)["diagnostics"]


def test_body_over_the_limit_is_413(client):
    big = hook(extension={"com.example.padding": "x" * 60_000})
    outcome(client.post(SERVICE, json=big), 413)


def test_malformed_json_is_400(client):
    r = client.post(SERVICE, data='{"hook": "patient-view",', content_type="application/json")
    assert "not valid JSON" in outcome(r, 400)["diagnostics"]


@pytest.mark.parametrize("missing", ["hook", "hookInstance", "context"])
def test_missing_required_field_is_400(client, missing):
    body = hook()
    del body[missing]
    assert missing in outcome(client.post(SERVICE, json=body), 400)["diagnostics"]


def test_missing_context_field_is_400(client):
    no_patient = hook(context={"userId": "Practitioner/a"})
    assert "context.patientId" in outcome(client.post(SERVICE, json=no_patient), 400)["diagnostics"]


def test_hook_mismatch_is_400(client):
    assert "does not match" in outcome(client.post(SERVICE, json=hook(hook="order-sign")), 400)["diagnostics"]


def test_fhir_authorization_without_fhir_server_is_400(client):
    auth = {"access_token": "t", "token_type": "Bearer", "expires_in": 60, "scope": "patient/*.read", "subject": "x"}
    assert "fhirServer" in outcome(client.post(SERVICE, json=hook(fhirAuthorization=auth)), 400)["diagnostics"]


def test_selection_not_in_draft_orders_is_400(client):
    body = hook(hook="order-select", context={
        "userId": "Practitioner/a", "patientId": "p-1", "selections": ["ServiceRequest/missing"],
        "draftOrders": {"resourceType": "Bundle", "type": "collection", "entry": [
            {"resource": {"resourceType": "ServiceRequest", "id": "present", "status": "draft", "intent": "order",
                          "subject": {"reference": "Patient/p-1"}}}]}})
    assert "selection" in outcome(client.post("/cds-services/nerve-cds-order-select", json=body), 400)["diagnostics"]


def test_no_data_and_no_server_is_412(client):
    body = hook()
    del body["prefetch"]
    assert "no fhirServer" in outcome(client.post(SERVICE, json=body), 412)["diagnostics"]


def test_unknown_extension_is_accepted(client):
    assert client.post(SERVICE, json=hook(extension={"com.example.x": {"a": 1}})).status_code == 200


def test_health_and_readiness(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.get_json() == {
        "status": "ready", "checks": {"cardLibrary": True}, "feedbackStore": {"writable": True, "error": None}}


def _unreachable_database() -> str:
    from tests.helpers.fault_servers import closed_port_url
    port = closed_port_url().split(":")[2].split("/")[0]
    return f"postgresql+psycopg://nobody@127.0.0.1:{port}/feedback?connect_timeout=2"


def test_readiness_fails_when_authentication_is_on_and_the_replay_store_is_unreachable():
    r = new_app(Settings(database_url=_unreachable_database(), **SERVING)).test_client().get("/readyz")
    assert r.status_code == 503 and r.get_json()["checks"] == {"cardLibrary": True, "replayStore": False}
    assert r.get_json()["feedbackStore"]["writable"] is False


def test_an_unreachable_feedback_store_alone_does_not_take_the_replica_out():
    """Without authentication nothing a hook call needs is in the database: CES alerts go on."""
    client = new_app(Settings(dev=True, auth_enabled=False, database_url=_unreachable_database())).test_client()
    r = client.get("/readyz")
    assert r.status_code == 200 and r.get_json()["checks"] == {"cardLibrary": True}
    assert r.get_json()["feedbackStore"] == {"writable": False, "error": "StoreUnavailable"}
    assert client.post(SERVICE, json=hook(prefetch=CES)).get_json()["cards"][0]["indicator"] == "critical"


def test_a_response_that_breaks_the_spec_is_500_never_sent(tmp_path):
    """The library refuses at load a summary that could pass the limit (library/summaries.py), so
    the broken text is put into a loaded library here: the response check is the last line."""
    library = load_library(Settings().cards_dir)
    long = "A summary far too long for any EHR banner. " * 5
    rules = tuple(replace(r, text=replace(r.text, summary=long),
                          variants=tuple(replace(v, text=replace(v.text, summary=long)) for v in r.variants))
                  if r.id == "CES-1" else r for r in library.rules)
    app = create_app(Settings(dev=True, auth_enabled=False, database_url=f"sqlite:///{tmp_path}/fb.db"),
                     library=replace(library, rules=rules))
    r = app.test_client().post(SERVICE, json=hook(prefetch=CES))
    assert "summary" in outcome(r, 500)["diagnostics"]


def test_an_unexpected_error_is_500_with_outcome_not_empty_cards(tmp_path):
    """A bug anywhere behind an endpoint (here a view that fails on purpose, since the library's
    checks now stop every card-text fault at load) is a 500 with an OperationOutcome."""
    app = new_app(Settings(dev=True, auth_enabled=False, database_url=f"sqlite:///{tmp_path}/fb.db"))

    def fails() -> None:
        raise KeyError("a bug")

    app.add_url_rule("/cds-services/fails", "fails", fails, methods=["POST"])
    r = app.test_client().post("/cds-services/fails", json=hook(prefetch=CES))
    assert outcome(r, 500)["diagnostics"] == "internal error in the CDS service"


def test_request_log_line_counts_data_quality_problems(client, caplog):
    """A Condition without clinicalStatus still counts (H1) and is counted in the log, not named."""
    import logging
    caplog.set_level(logging.INFO, logger="nerve_cds.request")
    conditions = {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": {
        "resourceType": "Condition", "id": "no-status-1", "subject": {"reference": "Patient/p-1"}, "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "M54.50"}]}}}]}
    r = client.post(SERVICE, json=hook(prefetch={**NULL_PREFETCH, "conditions": conditions}))
    assert r.status_code == 200 and r.get_json()["cards"][0]["source"]["topic"]["code"] == "conservative-management"
    (line,) = [rec for rec in caplog.records if rec.name == "nerve_cds.request"]
    assert line.fields["dataQualityNotes"] == 1 and "no-status-1" not in str(line.fields)
    assert line.fields["setAside"] == {}
    assert line.fields["cards"] == ["conservative-management"] and line.fields["status"] == 200
    assert line.fields["prefetch"]["conditions"] == "sent" and line.fields["prefetch"]["patient"] == "null"
