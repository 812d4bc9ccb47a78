"""/workbench/shadow: behind the workbench's credential, the summary without ids, the ids of one
day and topic only with an audit row per difference naming the workbench user, and odd input a
400 on the page."""
from __future__ import annotations

import base64
from datetime import datetime, timezone

from cds_service.storage.shadow import Difference, ShadowCall
from tests.helpers.apps import new_app
from tests.helpers.shadow import shadow_rows
from tests.helpers.workbench import dev_settings

TOKEN = "workbench-token-for-shadow-page-0123456789"
TODAY = datetime.now(timezone.utc)


def basic(user: str, password: str = TOKEN) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def app_with_differences(tmp_path):
    settings = dev_settings(tmp_path, workbench_token=TOKEN)
    app = new_app(settings)
    app.extensions["nerve_cds.storage"].shadow.record([
        ShadowCall("nerve-cds-patient-view", "h-1", "pat-secret-1", "enc-9", "live", "cand", TODAY,
                   (Difference("cauda-equina-urgent", "gained", None, "warning", None, "Urgent"),
                    Difference("cauda-equina-emergency", "lost", "critical", None, "Emergency", None)))])
    return app, settings.database_url


def test_the_page_needs_the_workbench_credential_and_audits_who_saw_which_ids(tmp_path):
    app, url = app_with_differences(tmp_path)
    client = app.test_client()
    assert client.get("/workbench/shadow").status_code == 401
    assert client.get("/workbench/shadow", headers=basic("dr-a", "wrong")).status_code == 401
    page = client.get("/workbench/shadow", headers=basic("dr-a")).get_data(as_text=True)
    assert 'id="shadow-off"' in page and 'data-topic="cauda-equina-urgent"' in page and "pat-secret-1" not in page
    assert shadow_rows(url)[1] == []
    query = {"day": TODAY.date().isoformat(), "topic": "cauda-equina-emergency"}
    detail = client.get("/workbench/shadow", query_string=query, headers=basic("dr-a")).get_data(as_text=True)
    assert 'data-patient="pat-secret-1"' in detail and "enc-9" in detail and 'id="audit-note"' in detail
    client.get("/workbench/shadow", query_string=query, headers={"Authorization": f"Bearer {TOKEN}"})
    # the call's every difference is shown (its lost and its gained card), so each is audited
    call = [d.id for d in shadow_rows(url)[0]]
    assert [(v.viewer, v.difference_id) for v in shadow_rows(url)[1]] == [("dr-a", i) for i in call] + [
        ("(bearer token)", i) for i in call]


def test_odd_input_is_a_400_on_the_page_and_reveals_nothing(tmp_path):
    app, url = app_with_differences(tmp_path)
    client = app.test_client()
    day = TODAY.date().isoformat()
    for query in ({"day": "yesterday", "topic": "cauda-equina-urgent"}, {"day": day}, {"topic": "cauda-equina-urgent"},
                  {"day": day, "topic": "cauda\x00-equina"}, {"day": day, "topic": "x" * 65}):
        response = client.get("/workbench/shadow", query_string=query, headers=basic("dr-a"))
        assert response.status_code == 400 and "give a day like" in response.get_data(as_text=True), query
    assert shadow_rows(url)[1] == []


def test_control_characters_in_the_user_name_are_left_out_of_the_audit(tmp_path):
    app, url = app_with_differences(tmp_path)
    query = {"day": TODAY.date().isoformat(), "topic": "cauda-equina-urgent"}
    assert app.test_client().get("/workbench/shadow", query_string=query, headers=basic("dr\x00-b\n")).status_code == 200
    assert {v.viewer for v in shadow_rows(url)[1]} == {"dr-b"}
