"""Edges of the HTTP surface the other protocol tests leave open: the spec's discovery shape,
routing errors as OperationOutcome, JSON media types, bodies streamed without a length, the
request log line, and feedback edge cases on SQLite and PostgreSQL."""
from __future__ import annotations

import http.client
import json
import logging
import re
import threading
import uuid

import pytest
from sqlalchemy import delete
from werkzeug.serving import make_server

from cds_service import create_app
from cds_service.core.settings import Settings
from cds_service.storage.sql_schema import issued_card
from tests.helpers.apps import new_app, shipped_library
from tests.helpers.calls import CES, SERVICE, hook, issue_card, outcome
from tests.helpers.stored import stored_feedback

TOKEN = re.compile(r"\{\{([^}]*)\}\}")
ALLOWED_TOKENS = {"context.patientId", "context.encounterId", "context.userId", "userPractitionerId",
                  "userPractitionerRoleId", "userPatientId", "userRelatedPersonId"}


def settings(tmp_path, **changes) -> Settings:
    return Settings(dev=True, auth_enabled=False, database_url=f"sqlite:///{tmp_path}/fb.db", **changes)


@pytest.fixture
def client(tmp_path):
    return new_app(settings(tmp_path, max_body_bytes=50_000)).test_client()


def test_discovery_has_the_spec_shape_for_every_service(client):
    """Required hook/description/id strings, prefetch as string templates using only spec tokens."""
    services = client.get("/cds-services").get_json()["services"]
    assert [s["id"] for s in services] == [s.id for s in shipped_library().services]  # cards/services.yaml, in order
    assert len({s["id"] for s in services}) == len(services) >= 3
    for service in services:
        assert set(service) <= {"hook", "title", "description", "id", "prefetch", "usageRequirements"}
        for field in ("hook", "title", "description", "id", "usageRequirements"):
            assert isinstance(service[field], str) and service[field].strip()
        assert service["prefetch"] and all(isinstance(k, str) and isinstance(v, str) for k, v in service["prefetch"].items())
        tokens = {t for template in service["prefetch"].values() for t in TOKEN.findall(template)}
        assert tokens and tokens <= ALLOWED_TOKENS, tokens - ALLOWED_TOKENS
        assert not any(t.startswith("context.draftOrders") for t in tokens)
        assert client.post(f"/cds-services/{service['id']}", json={}).status_code == 400  # the id is routable


def test_unknown_path_and_wrong_method_are_operation_outcomes(client):
    assert outcome(client.get("/no-such-endpoint"), 404)["code"] == "not-found"
    assert outcome(client.get(SERVICE), 405)["code"] == "not-supported"
    assert outcome(client.delete("/cds-services"), 405)["code"] == "not-supported"
    assert outcome(client.post("/cds-services/nope", json=hook()), 404)["code"] == "not-found"


@pytest.mark.parametrize("content_type", ["application/json; charset=utf-8", "application/fhir+json", "APPLICATION/JSON"])
def test_json_media_types_are_accepted(client, content_type):
    r = client.post(SERVICE, data=json.dumps(hook()), content_type=content_type)
    assert r.status_code == 200 and r.get_json() == {"cards": []}


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded"])
def test_other_media_types_are_415_also_on_feedback(client, content_type):
    kwargs = {"content_type": content_type} if content_type else {}
    assert outcome(client.post(SERVICE, data=json.dumps(hook()), **kwargs), 415)["code"] == "not-supported"
    assert outcome(client.post(SERVICE + "/feedback", data='{"feedback": []}', **kwargs), 415)


def test_streamed_body_over_the_limit_is_413(tmp_path):
    """A chunked body has no Content-Length to refuse up front; reading stops at the limit."""
    app = new_app(settings(tmp_path, max_body_bytes=10_000))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        conn = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=10)
        body = json.dumps(hook(padding="x" * 50_000)).encode()
        conn.request("POST", SERVICE, body=iter([body[i:i + 4096] for i in range(0, len(body), 4096)]),
                     headers={"Content-Type": "application/json"}, encode_chunked=True)
        response = conn.getresponse()
        payload = json.loads(response.read())
        assert response.status == 413 and payload["resourceType"] == "OperationOutcome"
        assert payload["issue"][0]["code"] == "too-long"
    finally:
        server.shutdown()


def test_an_overlong_hook_instance_is_400_not_lost_bookkeeping(client):
    assert "hookInstance" in outcome(client.post(SERVICE, json=hook(hookInstance="h" * 129)), 400)["diagnostics"]


def test_request_log_lines_for_answered_and_refused_calls(client, caplog):
    caplog.set_level(logging.INFO, logger="nerve_cds.request")
    body = hook(prefetch=CES)
    assert client.post(SERVICE, json=body).status_code == 200
    assert client.post(SERVICE, json={**body, "hook": "order-sign"}).status_code == 400
    ok, refused = [rec.fields for rec in caplog.records if rec.name == "nerve_cds.request"]
    assert ok["hookInstance"] == body["hookInstance"] and ok["service"] == "nerve-cds-patient-view"
    assert ok["status"] == 200 and isinstance(ok["latencyMs"], float) and ok["latencyMs"] >= 0
    assert ok["cards"] == ["cauda-equina-emergency"] and set(ok["prefetch"].values()) == {"sent", "null"}
    assert refused["status"] == 400 and refused["service"] == "nerve-cds-patient-view" and refused["error"] == "invalid"
    assert "G83.4" not in json.dumps(ok) + json.dumps(refused)


def test_one_instant_written_three_ways_is_one_feedback_row(store_app):
    """RFC 3339 allows lower-case t/z and offsets; the same instant is the same feedback."""
    client = store_app.test_client()
    _, card = issue_card(client)
    minute = uuid.uuid4().int % 60
    stamps = [f"2026-11-24T10:{minute:02d}:00Z", f"2026-11-24t11:{minute:02d}:00+01:00", f"2026-11-24t10:{minute:02d}:00.000z"]
    for stamp in stamps:
        item = {"card": card["uuid"], "outcome": "overridden", "outcomeTimestamp": stamp}
        assert client.post(SERVICE + "/feedback", json={"feedback": [item]}).status_code == 200
    rows = stored_feedback(store_app, card["uuid"])
    assert len(rows) == 1 and rows[0].outcome == "overridden" and rows[0].override_code is None


def test_feedback_for_a_card_whose_record_was_lost_is_kept_without_context(store_app):
    """The card's uuid proves we issued it, so feedback is kept even when the issued-card row was
    lost (the database was down when the card went out); only its topic is unknown."""
    client = store_app.test_client()
    _, card = issue_card(client)
    storage = store_app.extensions["nerve_cds.storage"]
    storage.feedback.flush()
    with storage.database.engine.begin() as conn:
        assert conn.execute(delete(issued_card).where(issued_card.c.card_uuid == card["uuid"])).rowcount == 1
    item = {"card": card["uuid"], "outcome": "accepted", "outcomeTimestamp": "2026-11-24T10:00:00.52Z",
            "acceptedSuggestions": [{"id": "s-1"}, {"id": "s-2"}]}
    assert client.post(SERVICE + "/feedback", json={"feedback": [item]}).status_code == 200
    (row,) = stored_feedback(store_app, card["uuid"])
    assert row.hook_instance is None and row.topic is None and row.accepted_suggestions == ("s-1", "s-2")


@pytest.mark.parametrize("item", [
    {"card": "c" * 65, "outcome": "overridden", "outcomeTimestamp": "2026-11-24T10:00:00Z"},
    {"card": "c", "outcome": "overridden", "outcomeTimestamp": "2026-11-24T10:00:00Z",
     "overrideReason": {"reason": {"system": "http://example.org", "code": "x" * 129}}},
])
def test_values_too_long_for_the_store_are_400_not_500(store_app, item):
    diagnostics = outcome(store_app.test_client().post(SERVICE + "/feedback", json={"feedback": [item]}), 400)["diagnostics"]
    assert "at most" in diagnostics


@pytest.mark.parametrize("stamp", ["2026-11-24T10:00:00", "2026-11-24 10:00:00Z", "2026-11-24T10:00Z",
                                   "2026-11-24T10:00:60Z", "2026-11-24T10:00:00+0100", "20261124T100000Z"])
def test_timestamps_outside_rfc_3339_are_400(client, stamp):
    item = {"card": "c", "outcome": "overridden", "outcomeTimestamp": stamp}
    assert "outcomeTimestamp" in outcome(client.post(SERVICE + "/feedback", json={"feedback": [item]}), 400)["diagnostics"]


def test_feedback_while_the_database_is_down_is_503_to_retry():
    from tests.helpers.fault_servers import closed_port_url

    port = closed_port_url().split(":")[2].split("/")[0]
    app = new_app(Settings(dev=True, auth_enabled=False,
                           database_url=f"postgresql+psycopg://nobody@127.0.0.1:{port}/feedback?connect_timeout=2"))
    _, card = issue_card(app.test_client())  # advice goes on without its database
    item = {"card": card["uuid"], "outcome": "overridden", "outcomeTimestamp": "2026-11-24T10:00:00Z"}
    issue = outcome(app.test_client().post(SERVICE + "/feedback", json={"feedback": [item]}), 503)
    assert issue["code"] == "transient" and "again" in issue["diagnostics"]


def test_topic_and_override_systems_sit_under_the_operators_canonical_base(tmp_path):
    """Not example.org: the operator's own base when configured, else the stable urn:nerve-cds: namespace."""
    plain = shipped_library().presentation
    assert plain.topic_system == "urn:nerve-cds:CodeSystem:card-topic"
    assert plain.override_system == "urn:nerve-cds:CodeSystem:override-reason"
    app = create_app(Settings(dev=True, auth_enabled=False, database_url=f"sqlite:///{tmp_path}/fb.db",
                              canonical_base="https://cds.hospital.example/fhir"))  # create_app loads the library itself
    look = app.extensions["nerve_cds.library"].presentation
    assert look.topic_system == "https://cds.hospital.example/fhir/CodeSystem/card-topic"
    assert look.override_system == "https://cds.hospital.example/fhir/CodeSystem/override-reason"
    with pytest.raises(ValueError):
        Settings(canonical_base="https://cds.hospital.example/fhir/")
