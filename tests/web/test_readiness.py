"""/readyz answers for what a hook call needs: the card library, and the JWT replay store when
authentication is on. Whether feedback can be written is in its body and in the metrics, and a
feedback store that cannot be written (a read-only SQLite file here; a full disk the same way)
never takes the replica out: cauda equina alerts go on."""
from __future__ import annotations

from cds_service.core.settings import Settings
from tests.helpers.apps import SERVING, new_app
from tests.helpers.calls import CES, SERVICE, hook, issue_card

TOKEN = "metrics-t0ken"


def read_only(tmp_path) -> str:
    """A migrated SQLite file, then opened read-only (file permissions do not stop root)."""
    path = tmp_path / "fb.db"
    new_app(Settings(dev=True, auth_enabled=False, database_url=f"sqlite:///{path}"))
    return f"sqlite:///file:{path}?mode=ro&uri=true"


def scrape(client) -> str:
    return client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).get_data(as_text=True)


def store_errors(text: str) -> float:
    line = next((x for x in text.splitlines() if x.startswith('nerve_cds_feedback_store_errors_total{operation="issued-cards"}')), None)
    return float(line.rsplit(" ", 1)[1]) if line else 0.0


def test_a_read_only_feedback_store_is_reported_but_the_replica_stays_in(tmp_path):
    app = new_app(Settings(dev=True, auth_enabled=False, database_url=read_only(tmp_path), metrics_token=TOKEN))
    client = app.test_client()
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.get_json()["feedbackStore"] == {"writable": False, "error": "OperationalError"}
    assert "nerve_cds_feedback_store_writable 0.0" in scrape(client)

    errors_before = store_errors(scrape(client))
    _, card = issue_card(client)  # the CES alert still comes
    assert card["source"]["topic"]["code"] == "cauda-equina-emergency" and card["indicator"] == "critical"
    app.extensions["nerve_cds.feedback"].flush()
    assert store_errors(scrape(client)) == errors_before + 1
    feedback = {"feedback": [{"card": card["uuid"], "outcome": "overridden", "outcomeTimestamp": "2026-11-24T10:00:00Z"}]}
    assert client.post(SERVICE + "/feedback", json=feedback).status_code == 503


def test_with_authentication_a_readable_replay_store_keeps_the_replica_in(tmp_path):
    """The replay store can be read, so it is reachable: a full or read-only disk must not take every
    replica out (token ids then live in each process's own cache, and that is logged)."""
    ready = new_app(Settings(database_url=read_only(tmp_path), **SERVING)).test_client().get("/readyz")
    assert ready.status_code == 200
    assert ready.get_json()["checks"] == {"cardLibrary": True, "replayStore": True}
    assert ready.get_json()["feedbackStore"]["writable"] is False


def test_a_writable_store_says_so(tmp_path):
    client = new_app(Settings(dev=True, auth_enabled=False, database_url=f"sqlite:///{tmp_path}/fb.db")).test_client()
    assert client.post(SERVICE, json=hook(prefetch=CES)).status_code == 200
    assert client.get("/readyz").get_json()["feedbackStore"] == {"writable": True, "error": None}
