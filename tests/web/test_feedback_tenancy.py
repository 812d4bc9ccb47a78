"""Feedback is taken only for a card this service issued, through the service that issued it, from
the client it was issued to (its JWT iss): two EHRs in one trust file, real signed JWTs, the real
app, on SQLite and PostgreSQL. Anything else is a 400 OperationOutcome and nothing is stored."""
from __future__ import annotations

import uuid

import pytest

from cds_service.core.settings import Settings
from tests.helpers.apps import SERVING, new_app
from tests.helpers.calls import CES, SERVICE, hook, outcome
from tests.helpers.stored import stored_card, stored_feedback
from tests.helpers.tokens import Issuer, bearer, write_trust_file

BASE = SERVING["public_base_url"]
ORDER_SELECT = "/cds-services/nerve-cds-order-select"
STAMP = "2026-11-24T10:00:00Z"


@pytest.fixture
def ehrs():
    return Issuer("https://ehr-a.example.org"), Issuer("https://ehr-b.example.org")


def two_client_app(tmp_path, database_url, ehrs, **settings):
    trust = write_trust_file(tmp_path, *({"issuer": ehr} for ehr in ehrs))
    return new_app(Settings(**{**SERVING, "database_url": database_url, "trust_file": trust, **settings}))


def card_for(client, ehr: Issuer, body=None) -> dict:
    """The CES card the service issues to `ehr`."""
    response = client.post(SERVICE, json=body or hook(prefetch=CES), headers=bearer(ehr.token(BASE + SERVICE)))
    assert response.status_code == 200, response.data[:300]
    return response.get_json()["cards"][0]


def send(client, ehr: Issuer, card: str, service: str = SERVICE):
    path = service + "/feedback"
    item = {"card": card, "outcome": "overridden", "outcomeTimestamp": STAMP}
    return client.post(path, json={"feedback": [item]}, headers=bearer(ehr.token(BASE + path)))


def test_feedback_for_a_card_never_issued_is_400_and_not_stored(tmp_path, database_url, ehrs):
    app = two_client_app(tmp_path, database_url, ehrs)
    client, (a, _) = app.test_client(), ehrs
    made_up = [str(uuid.uuid4()), "not-a-uuid"]
    issued = card_for(client, a)["uuid"]
    made_up.append(issued[:-1] + ("0" if issued[-1] != "0" else "1"))  # one hex digit of the check changed
    made_up.append(issued.upper())  # one spelling per card: it could be stored twice otherwise
    for card in made_up:
        issue = outcome(send(client, a, card), 400)
        assert issue["code"] == "not-found" and "feedback.0.card" in issue["diagnostics"]
        assert stored_feedback(app, card) == []
    assert send(client, a, issued).status_code == 200


def test_another_clients_card_is_refused_and_not_counted_in_its_analytics(tmp_path, database_url, ehrs):
    app = two_client_app(tmp_path, database_url, ehrs)
    client, (a, b) = app.test_client(), ehrs
    card = card_for(client, a)["uuid"]
    issue = outcome(send(client, b, card), 400)
    assert issue["code"] == "not-found" and "nothing was stored" in issue["diagnostics"]
    assert stored_feedback(app, card) == []
    report = app.extensions["nerve_cds.storage"].report()
    assert report.topic("cauda-equina-emergency").overridden == 0

    assert send(client, a, card).status_code == 200
    (row,) = stored_feedback(app, card)
    assert row.client == a.iss and stored_card(app, card).client == a.iss
    counts = {c.client: (c.issued, c.overridden) for c in app.extensions["nerve_cds.storage"].report().clients}
    assert counts == {a.iss: (1, 1)}


def test_a_card_sent_back_through_another_services_url_is_refused(tmp_path, database_url, ehrs):
    app = two_client_app(tmp_path, database_url, ehrs)
    client, (a, _) = app.test_client(), ehrs
    card = card_for(client, a)["uuid"]
    assert outcome(send(client, a, card, ORDER_SELECT), 400)["code"] == "not-found"
    assert stored_feedback(app, card) == []


def test_one_foreign_card_refuses_the_whole_request(tmp_path, database_url, ehrs):
    app = two_client_app(tmp_path, database_url, ehrs)
    client, (a, b) = app.test_client(), ehrs
    mine, theirs = card_for(client, a)["uuid"], card_for(client, b)["uuid"]
    path = SERVICE + "/feedback"
    items = [{"card": card, "outcome": "overridden", "outcomeTimestamp": STAMP} for card in (mine, theirs)]
    response = client.post(path, json={"feedback": items}, headers=bearer(a.token(BASE + path)))
    assert "feedback.1.card" in outcome(response, 400)["diagnostics"]
    assert stored_feedback(app, mine) == [] and stored_feedback(app, theirs) == []
    many = [{"card": str(uuid.uuid4()), "outcome": "overridden", "outcomeTimestamp": STAMP} for _ in range(7)]
    response = client.post(path, json={"feedback": many}, headers=bearer(a.token(BASE + path)))
    assert outcome(response, 400)["diagnostics"].startswith("feedback.0.card, feedback.1.card, feedback.2.card, "
                                                            "feedback.3.card, feedback.4.card and 2 more: ")


def test_the_same_hook_instance_from_two_clients_gives_each_its_own_card(tmp_path, database_url, ehrs):
    """A client that reuses (or learns) another's hookInstance gets its own card uuids, never theirs."""
    app = two_client_app(tmp_path, database_url, ehrs)
    client, (a, b) = app.test_client(), ehrs
    body = hook(prefetch=CES)
    first, again, other = card_for(client, a, body)["uuid"], card_for(client, a, body)["uuid"], card_for(client, b, body)["uuid"]
    assert first == again != other  # stable per client, hookInstance and topic
    app.extensions["nerve_cds.feedback"].flush()
    assert (stored_card(app, first).client, stored_card(app, other).client) == (a.iss, b.iss)


def test_replicas_sharing_the_key_take_each_others_cards_and_another_key_does_not(tmp_path, ehrs):
    database_url = f"sqlite:///{tmp_path}/fb.db"
    one, two = two_client_app(tmp_path, database_url, ehrs), two_client_app(tmp_path, database_url, ehrs)
    stranger = two_client_app(tmp_path, database_url, ehrs, card_id_key="another-key-" + "x" * 32)
    a = ehrs[0]
    card = card_for(one.test_client(), a)["uuid"]
    assert outcome(send(stranger.test_client(), a, card), 400)["code"] == "not-found"
    assert send(two.test_client(), a, card).status_code == 200
