"""The storage behind feedback and issued cards, on SQLite and PostgreSQL, through its interface and
over HTTP: a database that disappears, text a database cannot keep, a row the database refuses,
and many clinicians sending feedback at once."""
from __future__ import annotations

import logging
import shutil
import threading
import uuid

import pytest

from cds_service.core.settings import Settings
from tests.helpers.apps import new_app
from tests.helpers.calls import CES, SERVICE, issue_card
from tests.helpers.stored import stored_card, stored_feedback


def app_on(url: str):
    return new_app(Settings(dev=True, auth_enabled=False, database_url=url))


def feedback_item(card: str, **changes) -> dict:
    return {"card": card, "outcome": "overridden", "outcomeTimestamp": "2026-11-24T10:00:00Z", **changes}


@pytest.mark.parametrize("removed", ["directory", "file"])
def test_a_removed_sqlite_database_shows_in_readyz_and_the_writer_says_so_once(tmp_path, caplog, removed):
    """Not writable, said in /readyz's body; the replica stays in (auth is off: nothing a hook call
    needs is in the database) and CES advice goes on."""
    folder = tmp_path / "data"
    folder.mkdir()
    app = app_on(f"sqlite:///{folder}/fb.db")
    client, store = app.test_client(), app.extensions["nerve_cds.feedback"]
    _, card = issue_card(client)
    store.flush()
    assert client.get("/readyz").status_code == 200 and stored_card(app, card["uuid"]) is not None
    if removed == "directory":
        shutil.rmtree(folder)
    else:
        (folder / "fb.db").unlink()
    caplog.set_level(logging.INFO, logger="nerve_cds.feedback")
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.get_json()["feedbackStore"] == {"writable": False, "error": "StoreUnavailable"}
    hook_instances = []
    for _ in range(3):  # advice goes on; its bookkeeping cannot be written, and that is said once
        hook_instance, _ = issue_card(client)
        hook_instances.append(hook_instance)
        store.flush()
    lines = [r for r in caplog.records if "cannot record issued cards" in r.getMessage()]
    assert len(lines) == 1 and "missing" in lines[0].getMessage()
    assert not any(h in lines[0].getMessage() + repr(lines[0].__dict__) for h in hook_instances)
    assert client.post(SERVICE + "/feedback", json={"feedback": [feedback_item(card["uuid"])]}).status_code == 503
    assert not (folder / "fb.db").exists()  # not silently replaced by an empty database


def test_a_hook_instance_with_nul_is_400_on_both_databases(database_url):
    client = app_on(database_url).test_client()
    body = {"hook": "patient-view", "hookInstance": "a\x00b", "context": {"userId": "Practitioner/a", "patientId": "p-1"},
            "prefetch": CES}
    r = client.post(SERVICE, json=body)
    assert r.status_code == 400 and "NUL" in r.get_json()["issue"][0]["diagnostics"]
    assert client.get("/readyz").status_code == 200


@pytest.mark.parametrize("changes, place", [
    ({"card": "c\x00"}, "feedback.1.card"),
    ({"overrideReason": {"userComment": "fine\x00"}}, "userComment"),
    ({"overrideReason": {"reason": {"system": "http://example.org", "code": "x\x00"}}}, "reason.code"),
    ({"outcome": "accepted", "acceptedSuggestions": [{"id": "s\x00"}]}, "feedback.1.acceptedSuggestions.0.id"),
])
def test_feedback_text_with_nul_is_400_and_nothing_of_it_is_kept(database_url, changes, place):
    app = app_on(database_url)
    client = app.test_client()
    good = feedback_item(issue_card(client)[1]["uuid"])
    bad = {**feedback_item(issue_card(client)[1]["uuid"]), **changes}
    r = client.post(SERVICE + "/feedback", json={"feedback": [good, bad]})
    assert r.status_code == 400 and place in r.get_json()["issue"][0]["diagnostics"]
    assert stored_feedback(app, good["card"]) == []
    assert "\x00" in bad["card"] or stored_feedback(app, bad["card"]) == []
    assert client.post(SERVICE + "/feedback", json={"feedback": [good]}).status_code == 200
    assert len(stored_feedback(app, good["card"])) == 1


def test_one_card_the_database_refuses_does_not_lose_the_others(database_url, caplog):
    app = app_on(database_url)
    store = app.extensions["nerve_cds.feedback"]
    good = [str(uuid.uuid4()) for _ in range(3)]
    refused = [{"uuid": None}]  # NOT NULL on both databases
    if database_url.startswith("postgresql"):
        refused.append({"uuid": "u" * 65})  # over the column's length: only PostgreSQL enforces it
    caplog.set_level(logging.WARNING, logger="nerve_cds.feedback")
    store.remember_cards("nerve-cds-patient-view", "ehr", "h-1", [{"uuid": good[0]}, *refused, {"uuid": good[1]}])
    store.flush()
    store.remember_cards("nerve-cds-patient-view", "ehr", "h-2", [{"uuid": good[2]}])  # the writer is still alive
    store.flush()
    assert [stored_card(app, u).hook_instance for u in good] == ["h-1", "h-1", "h-2"]
    (line,) = [r for r in caplog.records if "refused by the database" in r.getMessage()]
    assert line.fields["refused"] == len(refused)


def test_no_feedback_lost_when_many_arrive_at_once(database_url):
    """Eight clients at once, each sending ten items, every item also sent by another client at the
    same time: every item kept, once."""
    app = app_on(database_url)
    cards = [[issue_card(app.test_client())[1]["uuid"] for _ in range(10)] for _ in range(4)]
    statuses: list[int] = []

    def clinician(mine: list[str]) -> None:
        client = app.test_client()
        for card in mine:
            statuses.append(client.post(SERVICE + "/feedback", json={"feedback": [feedback_item(card)]}).status_code)

    threads = [threading.Thread(target=clinician, args=(mine,)) for mine in cards + cards]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * 80
    assert all(len(stored_feedback(app, card)) == 1 for mine in cards for card in mine)
