"""Feedback analytics: cards issued by real hook calls, feedback posted to the real endpoint as a
CDS client does, then counted card by card per topic, per override reason and per week, and per
client (tests/workbench/test_feedback_cards.py: no response, no feedback channel, labels, CSV)."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from click.testing import CliRunner

from cds_service.core.settings import Settings
from cds_service.storage.analytics import monday
from cds_service.tools.cli import main
from tests.helpers.apps import SERVING, new_app
from tests.helpers.calls import CES, SERVICE, hook
from tests.helpers.tokens import Issuer, bearer, write_trust_file
from tests.helpers.workbench import dev_settings, hook_request


def stamp(when: datetime) -> str:
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def call(client, sid):
    discovery = client.get("/cds-services").get_json()
    service, body = hook_request(sid, discovery)
    response = client.post(f"/cds-services/{service}", json=body)
    assert response.status_code == 200
    return service, response.get_json()["cards"]


def test_counts_per_topic_reason_and_week(tmp_path):
    settings = dev_settings(tmp_path)
    app = new_app(settings)
    client = app.test_client()
    now = datetime.now(timezone.utc)
    service, ces = call(client, "s03-classic-cauda-equina")
    _, urgent = call(client, "x04-ces2-stable-red-flag")
    _, cons = call(client, "s01-acute-lumbar-radiculopathy")
    ces_card, urgent_card = ces[0], urgent[0]
    assert ces_card["source"]["topic"]["code"] == "cauda-equina-emergency"
    suggestion = ces_card["suggestions"][0]["uuid"]
    reason = urgent_card["overrideReasons"][0]
    items = [
        {"card": ces_card["uuid"], "outcome": "accepted", "acceptedSuggestions": [{"id": suggestion}], "outcomeTimestamp": stamp(now)},
        {"card": urgent_card["uuid"], "outcome": "overridden", "overrideReason": {"reason": reason}, "outcomeTimestamp": stamp(now)},
        {"card": urgent_card["uuid"], "outcome": "overridden", "outcomeTimestamp": stamp(now - timedelta(days=8))},
    ]
    response = client.post(f"/cds-services/{service}/feedback", json={"feedback": items})
    assert response.status_code == 200

    report = app.extensions["nerve_cds.storage"].report()
    emergency, ces2 = report.topic("cauda-equina-emergency"), report.topic("cauda-equina-urgent")
    assert (emergency.issued, emergency.accepted, emergency.overridden) == (1, 1, 0)
    assert emergency.suggestions == {suggestion: 1} and emergency.acceptance == 1.0  # no library: the uuid as stored
    # two overrides of one card are one overridden card, decided by the latest (with its reason)
    assert (ces2.issued, ces2.answered, ces2.accepted, ces2.overridden) == (1, 1, 0, 1)
    assert ces2.reasons == {reason["code"]: 1}
    shown = {t.topic for t in report.topics}
    assert {c["source"]["topic"]["code"] for c in cons} <= shown
    this_week = monday(now)
    assert report.weekly["cauda-equina-urgent"][this_week].overridden == 1  # the week the card was issued
    assert report.weeks == [this_week]

    # a window that starts after the cards were issued counts none of them
    later = app.extensions["nerve_cds.storage"].report(since=now + timedelta(days=1))
    assert later.topic("cauda-equina-urgent") is None

    cli = CliRunner().invoke(main, ["feedback", "report", "--json"], env={"NERVE_CDS_DATABASE_URL": settings.database_url})
    assert cli.exit_code == 0, cli.output
    body = {t["topic"]: t for t in json.loads(cli.output)["topics"]}
    assert body["cauda-equina-urgent"]["overridden"] == 1 and body["cauda-equina-urgent"]["rules"] == ["CES-2"]
    assert body["cauda-equina-urgent"]["overrideReasons"] == [{"reason": reason["display"], "cards": 1}]
    table = CliRunner().invoke(main, ["feedback", "report"], env={"NERVE_CDS_DATABASE_URL": settings.database_url,
                                                                 "COLUMNS": "200"})
    assert f"override: {reason['display']} x1" in table.output

    page = client.get("/workbench/feedback").get_data(as_text=True)
    assert 'data-topic="cauda-equina-urgent" data-kind="overridden" data-count="1"' in page
    assert f"{reason['display']} (1)" in page


def test_feedback_page_without_data_says_so(tmp_path):
    client = new_app(dev_settings(tmp_path)).test_client()
    page = client.get("/workbench/feedback")
    assert page.status_code == 200 and 'id="no-feedback"' in page.get_data(as_text=True)


def test_per_client_counts_and_one_clients_report(tmp_path):
    """Two EHRs: each sees its own cards with --client / ?client=, and the breakdown shows both."""
    a, b = Issuer("https://ehr-a.example.org"), Issuer("https://ehr-b.example.org")
    settings = Settings(**SERVING, database_url=f"sqlite:///{tmp_path}/fb.db", workbench_enabled=True,
                        workbench_token="s3cret-token", trust_file=write_trust_file(tmp_path, {"issuer": a}, {"issuer": b}))
    client = new_app(settings).test_client()
    base = SERVING["public_base_url"]
    for ehr, outcome in ((a, "overridden"), (b, "accepted")):
        card = client.post(SERVICE, json=hook(prefetch=CES), headers=bearer(ehr.token(base + SERVICE))).get_json()["cards"][0]
        item = {"card": card["uuid"], "outcome": outcome, "outcomeTimestamp": stamp(datetime.now(timezone.utc)),
                "acceptedSuggestions": [{"id": card["suggestions"][0]["uuid"]}]}
        path = SERVICE + "/feedback"
        assert client.post(path, json={"feedback": [item]}, headers=bearer(ehr.token(base + path))).status_code == 200

    env = {"NERVE_CDS_DATABASE_URL": settings.database_url, "COLUMNS": "200"}
    mine = json.loads(CliRunner().invoke(main, ["feedback", "report", "--json", "--client", a.iss], env=env).output)
    (ces,) = [t for t in mine["topics"] if t["topic"] == "cauda-equina-emergency"]
    assert (ces["issued"], ces["accepted"], ces["overridden"]) == (1, 0, 1) and mine["client"] == a.iss
    assert {c["client"]: (c["issued"], c["accepted"], c["overridden"]) for c in mine["clients"]} == {
        a.iss: (1, 0, 1), b.iss: (1, 1, 0)}
    table = CliRunner().invoke(main, ["feedback", "report"], env=env)
    assert table.exit_code == 0 and a.iss in table.output and b.iss in table.output
    single = CliRunner().invoke(main, ["feedback", "report", "--client", b.iss], env=env).output
    assert f"*{b.iss}" in single and "cauda-equina-emergency" in single

    page = client.get(f"/workbench/feedback?client={a.iss}", headers={"Authorization": "Bearer s3cret-token"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'id="client-table"' in html and f'data-client="{b.iss}"' in html
    assert 'data-topic="cauda-equina-emergency" data-kind="overridden" data-count="1"' in html
    assert 'data-topic="cauda-equina-emergency" data-kind="accepted"' not in html
