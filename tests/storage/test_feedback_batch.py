"""One feedback request is bounded and stored in one go: more items than
NERVE_CDS_FEEDBACK_MAX_ITEMS is a 413 before anything is stored, and the items of a request are
committed once, each in a savepoint of its own, so 12,000 items cannot hold a gevent worker past
gunicorn's timeout one transaction at a time (issue #17)."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

from sqlalchemy import event

from cds_service.core.settings import Settings
from tests.helpers.apps import new_app
from tests.helpers.calls import SERVICE, issue_card
from tests.helpers.stored import stored_feedback


def items(card: str, count: int) -> list[dict]:
    start = datetime(2026, 1, 1, tzinfo=timezone.utc) + timedelta(days=uuid.uuid4().int % 300)
    return [{"card": card, "outcome": "overridden",
             "outcomeTimestamp": (start + timedelta(seconds=n)).strftime("%Y-%m-%dT%H:%M:%SZ")} for n in range(count)]


def app_for(tmp_path, **settings):
    return new_app(Settings(dev=True, auth_enabled=False, database_url=f"sqlite:///{tmp_path}/fb.db", **settings))


def test_more_items_than_the_setting_is_413_and_nothing_is_stored(tmp_path):
    app = app_for(tmp_path, feedback_max_items=3)
    client = app.test_client()
    _, card = issue_card(client)
    refused = client.post(SERVICE + "/feedback", json={"feedback": items(card["uuid"], 4)})
    assert refused.status_code == 413
    outcome = refused.get_json()
    assert outcome["resourceType"] == "OperationOutcome" and "at most 3" in outcome["issue"][0]["diagnostics"]
    assert stored_feedback(app, card["uuid"]) == []
    assert client.post(SERVICE + "/feedback", json={"feedback": items(card["uuid"], 3)}).status_code == 200
    assert len(stored_feedback(app, card["uuid"])) == 3


def test_the_default_cap_is_100_items(tmp_path):
    app = app_for(tmp_path)
    client = app.test_client()
    _, card = issue_card(client)
    assert client.post(SERVICE + "/feedback", json={"feedback": items(card["uuid"], 101)}).status_code == 413
    assert client.post(SERVICE + "/feedback", json={"feedback": items(card["uuid"], 100)}).status_code == 200
    assert len(stored_feedback(app, card["uuid"])) == 100


def test_a_requests_items_are_committed_once(tmp_path):
    app = app_for(tmp_path)
    engine = app.extensions["nerve_cds.storage"].database.engine
    statements: list[str] = []
    event.listen(engine, "connect", lambda dbapi, _record: dbapi.set_trace_callback(statements.append))
    engine.dispose()
    client = app.test_client()
    _, card = issue_card(client)
    sent = items(card["uuid"], 5)
    assert client.post(SERVICE + "/feedback", json={"feedback": sent + sent[:1]}).status_code == 200
    assert len(stored_feedback(app, card["uuid"])) == 5
    inserts = [n for n, s in enumerate(statements) if s.startswith("INSERT INTO feedback")]
    first, last = inserts[0], inserts[-1]
    opened = max(n for n, s in enumerate(statements[:first]) if s.startswith(("BEGIN", "COMMIT")))
    assert statements[opened].startswith("BEGIN"), "the items' savepoints are inside one open transaction"
    assert not any(s.startswith("COMMIT") for s in statements[opened:last]), "no commit between the items"
    assert sum(s.startswith("SAVEPOINT") for s in statements[opened:last + 2]) >= 5
