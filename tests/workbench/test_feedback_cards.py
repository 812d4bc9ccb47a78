"""The feedback report counts cards, not feedback events (issue #21 item 4): cards issued by real
hook calls from two EHRs (one never sends feedback), feedback posted to the real endpoint, then
read as the analyst reads it: `nerve-cds feedback report` run as a process (table, --json, --csv)
and the workbench page with its CSV download."""
from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from cds_service.core.settings import Settings
from tests.helpers.apps import SERVING, new_app
from tests.helpers.calls import CES, SERVICE, hook
from tests.helpers.tokens import Issuer, bearer, write_trust_file

BASE = SERVING["public_base_url"]
TOPIC = "cauda-equina-emergency"
TOKEN = {"Authorization": "Bearer s3cret-token"}


def stamp(when: datetime) -> str:
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def history(tmp_path):
    """EHR A gets 5 CES cards: one overridden then accepted, one accepted, one overridden with an
    offered reason (code only) and a comment, one with a reason the card does not offer, one
    unanswered. EHR B gets 2 and never sends feedback."""
    a, b = Issuer("https://ehr-a.example.org"), Issuer("https://ehr-b.example.org")
    settings = Settings(**SERVING, database_url=f"sqlite:///{tmp_path}/fb.db", workbench_enabled=True,
                        workbench_token="s3cret-token", trust_file=write_trust_file(tmp_path, {"issuer": a}, {"issuer": b}))
    app = new_app(settings)
    client = app.test_client()

    def card(ehr):
        response = client.post(SERVICE, json=hook(prefetch=CES), headers=bearer(ehr.token(BASE + SERVICE)))
        assert response.status_code == 200
        return response.get_json()["cards"][0]

    mine = [card(a) for _ in range(5)]
    [card(b) for _ in range(2)]
    now = datetime.now(timezone.utc)
    offered = mine[2]["overrideReasons"][0]
    label = mine[0]["suggestions"][0]["label"]
    items = [
        {"card": mine[0]["uuid"], "outcome": "overridden", "outcomeTimestamp": stamp(now - timedelta(hours=1))},
        {"card": mine[0]["uuid"], "outcome": "accepted", "outcomeTimestamp": stamp(now),
         "acceptedSuggestions": [{"id": mine[0]["suggestions"][0]["uuid"]}]},
        {"card": mine[1]["uuid"], "outcome": "accepted", "outcomeTimestamp": stamp(now),
         "acceptedSuggestions": [{"id": mine[1]["suggestions"][0]["uuid"]}]},
        {"card": mine[2]["uuid"], "outcome": "overridden", "outcomeTimestamp": stamp(now),
         "overrideReason": {"reason": {"system": offered["system"], "code": offered["code"]},
                            "userComment": "seen in ED this morning"}},
        {"card": mine[3]["uuid"], "outcome": "overridden", "outcomeTimestamp": stamp(now),
         "overrideReason": {"reason": {"system": "http://example.org/local", "code": "busy", "display": "Too busy"}}},
    ]
    path = SERVICE + "/feedback"
    assert client.post(path, json={"feedback": items}, headers=bearer(a.token(BASE + path))).status_code == 200
    return app, settings, a, b, offered, label


def nerve_cds(settings, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "NERVE_CDS_DATABASE_URL": settings.database_url, "COLUMNS": "200",
           "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    return subprocess.run([sys.executable, "-m", "cds_service", "feedback", "report", *args], env=env,
                          capture_output=True, text=True, timeout=120)


def test_cards_not_events_are_counted(history):
    app, _, a, b, offered, label = history
    report = app.extensions["nerve_cds.storage"].report()
    ces = report.topic(TOPIC)
    assert (ces.issued, ces.answered, ces.accepted, ces.overridden) == (7, 4, 2, 2)
    assert (ces.no_response, ces.no_channel) == (1, 2)
    assert ces.acceptance == pytest.approx(2 / 5)  # of the cards issued to the EHR that answers
    clients = {c.client: c for c in report.clients}
    assert clients[b.iss].channel is False and clients[a.iss].channel is True


def test_the_cli_as_a_process_reads_labels_reasons_and_comments(history):
    _, settings, a, b, offered, label = history
    body = json.loads(nerve_cds(settings, "--json").stdout)
    (ces,) = [t for t in body["topics"] if t["topic"] == TOPIC]
    assert ces["rules"] == ["CES-1"]
    assert (ces["issued"], ces["answered"], ces["accepted"], ces["overridden"], ces["noResponse"],
            ces["noFeedbackChannel"], ces["acceptedShare"]) == (7, 4, 2, 2, 1, 2, 0.4)
    assert ces["acceptedSuggestions"] == [{"label": label, "cards": 2}]
    assert ces["overrideReasons"] == [{"reason": offered["display"], "cards": 1}]
    assert ces["overrideReasonsNotOffered"] == [{"reason": "Too busy [busy]", "cards": 1}]
    assert ces["overrideComments"] == [{"reason": offered["display"], "comment": "seen in ED this morning", "cards": 1}]
    assert {c["client"]: c["feedbackChannel"] for c in body["clients"]} == {a.iss: True, b.iss: False}
    assert [(h["hook"], h["issued"]) for h in body["hooks"]] == [("patient-view", 7)]

    table = nerve_cds(settings)
    assert table.returncode == 0, table.stderr
    assert f"accepted: {label} x2" in table.stdout and "comment (" in table.stdout
    assert "no feedback channel" in table.stdout and "40%" in table.stdout

    rows = list(csv.reader(io.StringIO(nerve_cds(settings, "--csv").stdout)))
    assert rows[0] == ["section", "name", "item", "value"]
    assert ["topic", TOPIC, "noFeedbackChannel", "2"] in rows
    assert ["accepted suggestion", TOPIC, label, "2"] in rows
    assert ["override reason not offered", TOPIC, "Too busy [busy]", "1"] in rows


def test_the_page_shows_cards_and_offers_the_csv(history):
    app, _, a, b, offered, label = history
    client = app.test_client()
    html = client.get("/workbench/feedback", headers=TOKEN).get_data(as_text=True)
    assert 'data-topic="cauda-equina-emergency" data-kind="no feedback channel" data-count="2"' in html
    assert 'data-topic="cauda-equina-emergency" data-kind="no response" data-count="1"' in html
    assert f"{label} (2)" in html and "seen in ED this morning" in html and "not offered by the card: Too busy [busy] (1)" in html
    assert 'id="csv-link"' in html
    download = client.get("/workbench/feedback.csv?weeks=4", headers=TOKEN)
    assert download.status_code == 200 and download.mimetype == "text/csv"
    assert "attachment" in download.headers["Content-Disposition"]
    assert f"accepted suggestion,{TOPIC},{label},2" in download.get_data(as_text=True)
