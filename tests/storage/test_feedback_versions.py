"""Analyst walk M3, M4, M5, m14 (issue #21): the per-library-version table is the feedback report
of each version's cards, with the topic table's definitions (accepted share out of cards issued to
clients that send feedback, patients counted); feedback that arrived before its card's row was
written counts under the card's topic, not under "(card not recorded)"; a card that offers no
suggestion (PAED-1) cannot be accepted, so its share is "not measurable", not 0%; identical
override comments are counted once. Real SQLite store; the report as a process and as the page."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid

import pytest

from cds_service.storage import open_storage
from cds_service.storage.feedback import FeedbackItem
from cds_service.storage.interface import IssuedCall
from tests.helpers.apps import new_app
from tests.helpers.paths import ROOT
from tests.helpers.workbench import dev_settings

SERVICE, CLIENT, VERSION = "nerve-cds-patient-view", "urn:test-ehr", "2026.12-1+abc"
REASON = {"system": "urn:test:reasons", "code": "not-relevant", "display": "Not relevant"}


def card(topic: str) -> dict:
    return {"uuid": str(uuid.uuid4()), "source": {"topic": {"code": topic}}}


def overridden(card_uuid: str, comment: str) -> FeedbackItem:
    return FeedbackItem.model_validate({"card": card_uuid, "outcome": "overridden", "outcomeTimestamp": "2026-12-06T01:00:00Z",
                                        "overrideReason": {"reason": REASON, "userComment": comment}})


@pytest.fixture()
def database(tmp_path) -> str:
    """5 PAED-1 cards, all overridden, 3 of them answered before their row was written (as when
    the feedback reaches another worker first); 3 CONS-1 cards, one accepted."""
    url = f"sqlite:///{tmp_path}/fb.db"
    store = open_storage(url).feedback
    paed = [card("paediatric-back-pain") for _ in range(5)]
    cons = [card("conservative-management") for _ in range(3)]
    early, late = paed[:3], paed[3:]
    assert store.save(SERVICE, CLIENT, [overridden(c["uuid"], "seen by paediatrics") for c in early]) == 3
    for n, c in enumerate([*paed, *cons]):
        rule = "PAED-1" if c in paed else "CONS-1"
        store.remember_cards(SERVICE, CLIENT, f"h-{n}", [c], VERSION,
                             IssuedCall(rules={c["uuid"]: rule}, patient=f"p{n}"))
    assert store.flush(10)
    store.save(SERVICE, CLIENT, [overridden(c["uuid"], "seen by paediatrics") for c in late])
    store.save(SERVICE, CLIENT, [FeedbackItem.model_validate({
        "card": cons[0]["uuid"], "outcome": "accepted", "outcomeTimestamp": "2026-12-06T01:00:00Z",
        "acceptedSuggestions": [{"id": "s-1"}]})])
    return url


def report(url: str, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NERVE_CDS_")}
    env.update(PYTHONPATH=str(ROOT), NERVE_CDS_DATABASE_URL=url, COLUMNS="200")
    return subprocess.run([sys.executable, "-m", "cds_service", "feedback", "report", *args],
                          env=env, capture_output=True, text=True, timeout=60)


def test_the_version_table_counts_as_the_topic_table_does(database):
    result = report(database, "--json")
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    (version,) = body["versions"]  # no "(card not recorded)" row: every card's row is there
    topics = {t["topic"]: t for t in body["topics"]}
    for name in ("paediatric-back-pain", "conservative-management"):
        assert version["topics"][name] == {k: v for k, v in topics[name].items() if k in version["topics"][name]}
    assert (version["issued"], version["accepted"], version["overridden"], version["patients"]) == (8, 1, 5, 8)
    assert version["acceptedShare"] == round(1 / 8, 4)  # out of cards issued, not out of the 6 answered
    assert topics["paediatric-back-pain"]["overridden"] == 5
    assert version["topics"]["paediatric-back-pain"]["overridden"] == 5


def test_a_card_without_suggestions_is_not_measurable_and_comments_are_counted(database):
    body = json.loads(report(database, "--json").stdout)
    paed = next(t for t in body["topics"] if t["topic"] == "paediatric-back-pain")
    cons = next(t for t in body["topics"] if t["topic"] == "conservative-management")
    assert paed["acceptedShare"] is None and paed["acceptanceMeasurable"] is False
    assert cons["acceptedShare"] == round(1 / 3, 4) and cons["acceptanceMeasurable"] is True
    assert paed["overrideComments"] == [{"reason": "Not relevant [not-relevant]", "comment": "seen by paediatrics", "cards": 5}]
    text = report(database).stdout
    row = next(line for line in text.splitlines() if line.startswith("paediatric-back-pain"))
    assert " n/a " in row and " 0% " not in row
    assert "n/a: the card offers no suggestion" in text
    assert text.count("seen by paediatrics") == 2  # once per topic and once per rule, each x5
    assert "comment (Not relevant [not-relevant]): seen by paediatrics x5" in text


def test_the_page_shows_the_same_version_rows_and_not_measurable(database, tmp_path):
    client = new_app(dev_settings(tmp_path, database_url=database)).test_client()
    html = client.get("/workbench/feedback").get_data(as_text=True)
    assert "(card not recorded)" not in html
    version_row = html.split(f'data-version="{VERSION}" data-topic="paediatric-back-pain"')[1].split("</tr>")[0]
    assert '<td class="overridden">5</td>' in version_row and "not measurable" in version_row
    assert html.count("<q>seen by paediatrics</q>") == 2 and "×5" in html  # the why and rule tables
