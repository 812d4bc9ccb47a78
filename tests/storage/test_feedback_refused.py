"""A feedback item the database will not keep is never answered 200: only a true duplicate counts
as already stored. The database really refuses the row (a trigger raising a constraint error, on
SQLite and PostgreSQL); the client gets a 500 OperationOutcome naming the item, and the items it
could keep are kept."""
from __future__ import annotations

import logging

from sqlalchemy import text

from cds_service.core.settings import Settings
from tests.helpers.apps import new_app
from tests.helpers.calls import SERVICE, issue_card, outcome
from tests.helpers.stored import stored_feedback

REFUSE = {
    "sqlite": ["CREATE TRIGGER refuse_card BEFORE INSERT ON feedback WHEN NEW.card_uuid = '{card}' "
               "BEGIN SELECT RAISE(ABORT, 'refused by policy'); END"],
    "postgresql": ["CREATE FUNCTION refuse_card() RETURNS trigger AS $$ BEGIN IF NEW.card_uuid = '{card}' THEN "
                   "RAISE EXCEPTION 'refused by policy' USING ERRCODE = 'check_violation'; END IF; RETURN NEW; END $$ "
                   "LANGUAGE plpgsql",
                   "CREATE TRIGGER refuse_card BEFORE INSERT ON feedback FOR EACH ROW EXECUTE FUNCTION refuse_card()"],
}


def item(card: str) -> dict:
    return {"card": card, "outcome": "overridden", "outcomeTimestamp": "2026-11-24T10:00:00Z"}


def test_a_row_the_database_refuses_is_a_500_not_already_stored(database_url, caplog):
    app = new_app(Settings(dev=True, auth_enabled=False, database_url=database_url))
    client = app.test_client()
    kept, refused = issue_card(client)[1]["uuid"], issue_card(client)[1]["uuid"]
    database = app.extensions["nerve_cds.storage"].database
    with database.engine.begin() as conn:
        for statement in REFUSE[conn.dialect.name]:
            conn.execute(text(statement.format(card=refused)))
    caplog.set_level(logging.INFO, logger="nerve_cds")

    response = client.post(SERVICE + "/feedback", json={"feedback": [item(kept), item(refused)]})
    issue = outcome(response, 500)
    assert issue["code"] == "exception" and "feedback.1" in issue["diagnostics"] and "feedback.0" not in issue["diagnostics"]
    assert "refused by policy" not in issue["diagnostics"]  # the database's own words stay in the service
    assert len(stored_feedback(app, kept)) == 1 and stored_feedback(app, refused) == []
    (line,) = [r for r in caplog.records if r.name == "nerve_cds.request" and r.fields.get("endpoint") == "feedback"]
    assert line.fields["status"] == 500 and line.fields["feedbackStored"] == 1

    # the same request again: the kept item is a true duplicate, the refused one still fails
    assert client.post(SERVICE + "/feedback", json={"feedback": [item(kept)]}).status_code == 200
    assert outcome(client.post(SERVICE + "/feedback", json={"feedback": [item(refused)]}), 500)
    assert len(stored_feedback(app, kept)) == 1
