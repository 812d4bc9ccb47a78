"""Feedback per CDS Hooks 2.0, stored once per card/outcome/time, on SQLite and on PostgreSQL."""
from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest
from sekmet import free_port

from cds_service import create_app
from cds_service.core.settings import Settings

SERVICE = "/cds-services/nerve-cds-patient-view"
CES = {"patient": None, "observations": None, "serviceRequests": None, "procedures": None, "imagingStudies": None,
       "diagnosticReports": None, "medicationStatements": None, "carePlans": None, "medicationRequests": None,
       "conditions": {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": {
           "resourceType": "Condition", "id": "fb-c", "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "G83.4"}]},
           "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]}}}]}}


def _pg_bin() -> str | None:
    found = shutil.which("pg_ctl")
    if found:
        return os.path.dirname(os.path.realpath(found))
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return os.path.dirname(candidates[-1]) if candidates else None


@pytest.fixture(scope="module")
def postgres_url():
    """A throwaway PostgreSQL cluster on a free port (Debian's postgresql package)."""
    bindir = _pg_bin()
    if not bindir:
        pytest.skip("PostgreSQL server binaries not installed (apt-get install postgresql)")
    data = Path(tempfile.mkdtemp(prefix="nerve-cds-pg-"))  # outside pytest's root-only tmp tree
    port = free_port()
    as_user: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root
        shutil.chown(data, "postgres")
        os.chmod(data, 0o700)
        as_user = ["runuser", "-u", "postgres", "--"]
    subprocess.run(as_user + [f"{bindir}/initdb", "-D", str(data / "db"), "-U", "postgres", "-A", "trust"],
                   check=True, capture_output=True)
    subprocess.run(as_user + [f"{bindir}/pg_ctl", "-D", str(data / "db"), "-o", f"-p {port} -k {data} -h 127.0.0.1",
                              "-l", str(data / "log"), "-w", "start"], check=True, capture_output=True)
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(as_user + [f"{bindir}/pg_ctl", "-D", str(data / "db"), "-m", "fast", "stop"], capture_output=True)
        shutil.rmtree(data, ignore_errors=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def app(request, tmp_path):
    url = f"sqlite:///{tmp_path}/fb.db" if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    return create_app(Settings(dev=True, auth_enabled=False, database_url=url))


def issue_card(client):
    hook_instance = str(uuid.uuid4())
    r = client.post(SERVICE, json={"hook": "patient-view", "hookInstance": hook_instance,
                                   "context": {"userId": "Practitioner/a", "patientId": "p"}, "prefetch": CES})
    card = r.get_json()["cards"][0]
    return hook_instance, card


def test_feedback_stored_once_with_its_card_context(app):
    client = app.test_client()
    hook_instance, card = issue_card(client)
    stamp = f"2026-11-24T10:{uuid.uuid4().int % 60:02d}:00Z"
    item = {"card": card["uuid"], "outcome": "accepted", "outcomeTimestamp": stamp,
            "acceptedSuggestions": [{"id": card["suggestions"][0]["uuid"]}]}
    for _ in range(2):  # the same feedback twice is one row
        assert client.post(SERVICE + "/feedback", json={"feedback": [item]}).status_code == 200
    override = {"card": card["uuid"], "outcome": "overridden", "outcomeTimestamp": stamp,
                "overrideReason": {"reason": card["overrideReasons"][0], "userComment": "seen by spinal team"}}
    assert client.post(SERVICE + "/feedback", json={"feedback": [override]}).status_code == 200
    rows = app.extensions["nerve_cds.feedback"].feedback_for(card["uuid"])
    assert [r.outcome for r in rows] == ["accepted", "overridden"]
    assert rows[0].hook_instance == hook_instance and rows[0].topic == "cauda-equina-emergency"
    assert rows[0].accepted_suggestions == (card["suggestions"][0]["uuid"],)
    assert rows[1].override_code == card["overrideReasons"][0]["code"] and rows[1].user_comment == "seen by spinal team"
    assert rows[1].service_id == "nerve-cds-patient-view"


@pytest.mark.parametrize("item, problem", [
    ({"card": "c", "outcome": "accepted", "outcomeTimestamp": "2026-11-24T10:00:00Z"}, "acceptedSuggestions"),
    ({"card": "c", "outcome": "ignored", "outcomeTimestamp": "2026-11-24T10:00:00Z"}, "outcome"),
    ({"card": "c", "outcome": "overridden", "outcomeTimestamp": "24/11/2026 10:00"}, "RFC 3339"),
    ({"card": "c", "outcome": "overridden", "outcomeTimestamp": "2026-02-30T10:00:00Z"}, "real date"),
    ({"outcome": "overridden", "outcomeTimestamp": "2026-11-24T10:00:00Z"}, "card"),
])
def test_invalid_feedback_is_400(tmp_path, item, problem):
    client = create_app(Settings(dev=True, auth_enabled=False, database_url=f"sqlite:///{tmp_path}/fb.db")).test_client()
    r = client.post(SERVICE + "/feedback", json={"feedback": [item]})
    assert r.status_code == 400 and problem in r.get_json()["issue"][0]["diagnostics"]


def test_feedback_for_unknown_service_is_404(tmp_path):
    client = create_app(Settings(dev=True, auth_enabled=False, database_url=f"sqlite:///{tmp_path}/fb.db")).test_client()
    r = client.post("/cds-services/nope/feedback", json={"feedback": []})
    assert r.status_code == 404
