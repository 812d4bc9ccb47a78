"""Feedback per CDS Hooks 2.0, stored once per card/outcome/time, on SQLite and on PostgreSQL."""
from __future__ import annotations

import uuid

import pytest

from cds_service.core.settings import Settings
from tests.helpers.apps import new_app
from tests.helpers.calls import SERVICE, issue_card
from tests.helpers.stored import stored_feedback


def test_feedback_stored_once_with_its_card_context(store_app):
    client = store_app.test_client()
    hook_instance, card = issue_card(client)
    stamp = f"2026-11-24T10:{uuid.uuid4().int % 60:02d}:00Z"
    item = {"card": card["uuid"], "outcome": "accepted", "outcomeTimestamp": stamp,
            "acceptedSuggestions": [{"id": card["suggestions"][0]["uuid"]}]}
    for _ in range(2):  # the same feedback twice is one row
        assert client.post(SERVICE + "/feedback", json={"feedback": [item]}).status_code == 200
    override = {"card": card["uuid"], "outcome": "overridden", "outcomeTimestamp": stamp,
                "overrideReason": {"reason": card["overrideReasons"][0], "userComment": "seen by spinal team"}}
    assert client.post(SERVICE + "/feedback", json={"feedback": [override]}).status_code == 200
    rows = stored_feedback(store_app, card["uuid"])
    assert [r.outcome for r in rows] == ["accepted", "overridden"]
    assert rows[0].hook_instance == hook_instance and rows[0].topic == "cauda-equina-emergency"
    assert rows[0].accepted_suggestions == (card["suggestions"][0]["uuid"],)
    assert rows[1].override_code == card["overrideReasons"][0]["code"] and rows[1].user_comment == "seen by spinal team"
    assert rows[1].service_id == "nerve-cds-patient-view"


@pytest.mark.parametrize("item, problem", [
    ({"card": "c", "outcome": "accepted", "outcomeTimestamp": "2026-11-24T10:00:00Z"}, "acceptedSuggestions"),
    ({"card": "c", "outcome": "ignored", "outcomeTimestamp": "2026-11-24T10:00:00Z"}, "outcome"),
    ({"card": "c", "outcome": "overridden", "outcomeTimestamp": "24/11/2026 10:00"}, "RFC 3339"),
    ({"card": "c", "outcome": "overridden", "outcomeTimestamp": "2026-02-30T10:00:00Z"}, "real date"),
    ({"outcome": "overridden", "outcomeTimestamp": "2026-11-24T10:00:00Z"}, "card"),
])
def test_invalid_feedback_is_400(tmp_path, item, problem):
    client = new_app(Settings(dev=True, auth_enabled=False, database_url=f"sqlite:///{tmp_path}/fb.db")).test_client()
    r = client.post(SERVICE + "/feedback", json={"feedback": [item]})
    assert r.status_code == 400 and problem in r.get_json()["issue"][0]["diagnostics"]


def test_feedback_for_unknown_service_is_404(tmp_path):
    client = new_app(Settings(dev=True, auth_enabled=False, database_url=f"sqlite:///{tmp_path}/fb.db")).test_client()
    r = client.post("/cds-services/nope/feedback", json={"feedback": []})
    assert r.status_code == 404
