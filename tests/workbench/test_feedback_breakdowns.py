"""The feedback report per rule, per user and with distinct patient counts (issue #21 item 4):
cards issued by real hook calls for two users and three patients, from two rules of one topic,
feedback posted to the real endpoint, then read as the analyst reads it: `nerve-cds feedback
report` run as a process (table, --json, --csv) and the workbench page. Patients are counted,
never shown: no output and no stored row holds a patient id."""
from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from cds_service.core.settings import Settings
from cds_service.workbench.cases import fixture_case
from tests.helpers.apps import SERVING, new_app
from tests.helpers.calls import NULL_PREFETCH, SERVICE, hook
from tests.helpers.tokens import Issuer, bearer, write_trust_file

BASE = SERVING["public_base_url"]
TOPIC = "serious-spinal-pathology"
TOKEN = {"Authorization": "Bearer s3cret-token"}
PATIENTS = ("secret-pat-one", "secret-pat-two", "secret-pat-three")


def prefetch(scenario: str, patient: str) -> dict:
    """A fixture scenario's Patient and Conditions as prefetch, moved to `patient`."""
    case = fixture_case(Settings().fixtures_dir, scenario, date.today())
    record = json.loads(json.dumps(case.data["record"]).replace(case.context["patientId"], patient))
    resources = [e["resource"] for e in record["entry"]]
    conditions = [{"resource": r} for r in resources if r["resourceType"] == "Condition"]
    return {**NULL_PREFETCH, "patient": next(r for r in resources if r["resourceType"] == "Patient"),
            "conditions": {"resourceType": "Bundle", "type": "searchset", "entry": conditions}}


@pytest.fixture
def history(tmp_path):
    """Dr A: the fracture rule's card for patient one (twice) and two; one accepted. Dr B: the
    cancer rule's card for patient three, overridden with an offered reason and a comment."""
    ehr = Issuer("https://ehr-a.example.org")
    settings = Settings(**SERVING, database_url=f"sqlite:///{tmp_path}/fb.db", workbench_enabled=True,
                        workbench_token="s3cret-token", trust_file=write_trust_file(tmp_path, {"issuer": ehr}))
    app = new_app(settings)
    client = app.test_client()

    def card(user: str, scenario: str, patient: str) -> dict:
        body = hook(prefetch=prefetch(scenario, patient), context={"userId": user, "patientId": patient})
        response = client.post(SERVICE, json=body, headers=bearer(ehr.token(BASE + SERVICE)))
        assert response.status_code == 200, response.get_data(as_text=True)
        (found,) = [c for c in response.get_json()["cards"] if c["source"]["topic"]["code"] == TOPIC]
        return found

    fracture = [card("Practitioner/dr-a", "r05-l1-wedge-fracture-back-pain", p) for p in (PATIENTS[0], PATIENTS[0], PATIENTS[1])]
    cancer = card("Practitioner/dr-b", "r17-breast-cancer-12-years-remission-back-pain", PATIENTS[2])
    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    offered = cancer["overrideReasons"][0]
    items = [{"card": fracture[0]["uuid"], "outcome": "accepted", "outcomeTimestamp": now,
              "acceptedSuggestions": [{"id": fracture[0]["suggestions"][0]["uuid"]}]},
             {"card": cancer["uuid"], "outcome": "overridden", "outcomeTimestamp": now,
              "overrideReason": {"reason": {"system": offered["system"], "code": offered["code"]},
                                 "userComment": "known stable metastasis"}}]
    path = SERVICE + "/feedback"
    assert client.post(path, json={"feedback": items}, headers=bearer(ehr.token(BASE + path))).status_code == 200
    return app, settings, fracture[0]["suggestions"][0]["label"], offered["display"]


def nerve_cds(settings, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "NERVE_CDS_DATABASE_URL": settings.database_url, "COLUMNS": "200",
           "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    result = subprocess.run([sys.executable, "-m", "cds_service", "feedback", "report", *args], env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert not any(p in result.stdout for p in PATIENTS)
    return result


def test_json_counts_per_rule_per_user_and_distinct_patients(history):
    _, settings, label, reason = history
    body = json.loads(nerve_cds(settings, "--json").stdout)
    rules = {(r["rule"], r["topic"]): r for r in body["rules"]}
    fracture, cancer = rules[("RF-1-FRACTURE", TOPIC)], rules[("RF-1-CANCER", TOPIC)]
    assert (fracture["issued"], fracture["accepted"], fracture["noResponse"], fracture["patients"]) == (3, 1, 2, 2)
    assert fracture["acceptedSuggestions"] == [{"label": label, "cards": 1}]
    assert (cancer["issued"], cancer["overridden"], cancer["patients"]) == (1, 1, 1)
    assert cancer["overrideReasons"] == [{"reason": reason, "cards": 1}]
    assert cancer["overrideComments"] == [{"reason": reason, "comment": "known stable metastasis", "cards": 1}]
    users = {u["user"]: u for u in body["users"]}
    assert (users["Practitioner/dr-a"]["issued"], users["Practitioner/dr-a"]["patients"]) == (3, 2)
    assert (users["Practitioner/dr-b"]["overridden"], users["Practitioner/dr-b"]["patients"]) == (1, 1)
    (topic,) = [t for t in body["topics"] if t["topic"] == TOPIC]
    assert (topic["issued"], topic["patients"]) == (4, 3)
    assert [(h["hook"], h["patients"]) for h in body["hooks"]] == [("patient-view", 3)]
    assert [c["patients"] for c in body["clients"]] == [3]


def test_csv_and_table_carry_the_breakdowns(history):
    _, settings, label, reason = history
    rows = list(csv.reader(io.StringIO(nerve_cds(settings, "--csv").stdout)))
    assert ["rule", "RF-1-FRACTURE", "patients", "2"] in rows
    assert ["rule", "RF-1-FRACTURE", "topic", TOPIC] in rows
    assert ["rule accepted suggestion", "RF-1-FRACTURE", label, "1"] in rows
    assert ["rule override reason", "RF-1-CANCER", reason, "1"] in rows
    assert ["user", "Practitioner/dr-a", "issued", "3"] in rows
    assert ["topic", TOPIC, "patients", "3"] in rows
    table = nerve_cds(settings).stdout
    assert f"RF-1-FRACTURE ({TOPIC})" in table and "Practitioner/dr-b" in table and "patients" in table


def test_the_page_shows_rules_users_and_patient_counts(history):
    app, _, label, reason = history
    html = app.test_client().get("/workbench/feedback", headers=TOKEN).get_data(as_text=True)
    assert not any(p in html for p in PATIENTS)
    assert f'<tr data-rule="RF-1-FRACTURE" data-topic="{TOPIC}"><td>RF-1-FRACTURE</td>' in html
    fracture_row = html.split('data-rule="RF-1-FRACTURE"')[1].split("</tr>")[0]
    assert '<td class="issued">3</td>' in fracture_row and '<td class="patients">2</td>' in fracture_row
    assert f"{label} (1)" in fracture_row
    cancer_row = html.split('data-rule="RF-1-CANCER"')[1].split("</tr>")[0]
    assert f"{reason} (1)" in cancer_row and "known stable metastasis" in cancer_row
    user_row = html.split('data-user="Practitioner/dr-a"')[1].split("</tr>")[0]
    assert '<td class="issued">3</td>' in user_row and '<td class="patients">2</td>' in user_row
    csv_body = app.test_client().get("/workbench/feedback.csv", headers=TOKEN).get_data(as_text=True)
    assert "user,Practitioner/dr-b,overridden,1" in csv_body and not any(p in csv_body for p in PATIENTS)


def test_the_store_keeps_a_keyed_hash_not_the_patient_id(history):
    _, settings, _, _ = history
    engine = create_engine(settings.database_url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT * FROM issued_card")).all()
    engine.dispose()
    assert rows and not any(p in str(row) for row in rows for p in PATIENTS)
    keys = {row.patient_key for row in rows if row.topic == TOPIC}
    assert len(keys) == 3 and all(len(k) == 32 for k in keys)
