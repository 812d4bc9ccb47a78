"""Shadow mode as the analyst uses it: the real `nerve-cds serve` (gunicorn, gevent workers) with a
candidate library whose ces_recent_days is changed, real hook calls, then the differences read
with `nerve-cds shadow report` run as a process and on /workbench/shadow, the patient ids there
audited, and the live cards exactly those of the live library alone."""
from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time

import requests

from cds_service.core.settings import Settings
from tests.helpers.apps import new_app
from tests.helpers.fhir_server import free_port
from tests.helpers.serving import served
from tests.helpers.shadow import CHANGED_SCENARIO, UNCHANGED_SCENARIO, candidate_library, shadow_rows
from tests.helpers.workbench import hook_request

NERVE_CDS = [sys.executable, "-m", "cds_service"]
TOKEN = "workbench-token-for-shadow-tests-0123456789"


def run_cli(args: list[str], **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("NERVE_CDS_")}
    return subprocess.run(NERVE_CDS + args, env={**clean, **env}, capture_output=True, text=True, timeout=120)


def live_only_cards(tmp_path, scenario: str) -> list[dict]:
    """The cards the live library alone gives for the scenario (same dev key, client and hookInstance)."""
    app = new_app(Settings(dev=True, auth_enabled=False, log_level="WARNING", database_url=f"sqlite:///{tmp_path}/alone.db"))
    client = app.test_client()
    service, body = hook_request(scenario, client.get("/cds-services").get_json())
    return client.post(f"/cds-services/{service}", json=body).get_json()["cards"]


def report(url: str, wanted: int) -> dict:
    """`nerve-cds shadow report --json` until it lists `wanted` day-topic rows (the candidate runs
    after the answer, in the background)."""
    deadline = time.monotonic() + 30
    while True:
        result = run_cli(["shadow", "report", "--json"], NERVE_CDS_DATABASE_URL=url)
        assert result.returncode == 0, result.stderr
        body = json.loads(result.stdout)
        if len(body["differences"]) >= wanted or time.monotonic() > deadline:
            return body
        time.sleep(0.5)


def test_a_candidate_library_shadows_real_hook_calls_without_changing_the_live_cards(tmp_path):
    candidate = candidate_library(tmp_path)
    url = f"sqlite:///{tmp_path}/fb.db"
    with served(tmp_path, workers=2, NERVE_CDS_SHADOW_CARDS_DIR=str(candidate), NERVE_CDS_WORKBENCH_ENABLED="true",
                NERVE_CDS_WORKBENCH_TOKEN=TOKEN, NERVE_CDS_LOG_LEVEL="INFO") as server:
        discovery = requests.get(server.base + "/cds-services", timeout=10).json()
        answers = {}
        for scenario in (CHANGED_SCENARIO, UNCHANGED_SCENARIO):
            service, body = hook_request(scenario, discovery)
            response = requests.post(f"{server.base}/cds-services/{service}", json=body, timeout=30)
            assert response.status_code == 200
            answers[scenario] = (body, response.json()["cards"])

        # The live answer is the live library's, to the byte: the candidate only watches.
        for scenario, (_, cards) in answers.items():
            assert cards == live_only_cards(tmp_path, scenario)
        assert [c["source"]["topic"]["code"] for c in answers[CHANGED_SCENARIO][1]] == ["cauda-equina-emergency"]

        body = report(url, 2)
        rows = {(r["topic"], tuple(k for k, n in r["changes"].items() if n)): (r["calls"], r["patients"])
                for r in body["differences"]}
        assert rows == {("cauda-equina-emergency", ("lost",)): (1, 1), ("cauda-equina-urgent", ("gained",)): (1, 1)}
        assert body["retentionDays"] == 30
        patient = answers[CHANGED_SCENARIO][0]["context"]["patientId"]
        text = run_cli(["shadow", "report"], NERVE_CDS_DATABASE_URL=url)
        assert "cauda-equina-urgent" in text.stdout and patient not in text.stdout  # counts only on the command line

        auth = {"Authorization": "Basic " + base64.b64encode(f"dr-analyst:{TOKEN}".encode()).decode()}
        assert requests.get(server.base + "/workbench/shadow", timeout=10).status_code == 401
        page = requests.get(server.base + "/workbench/shadow", headers=auth, timeout=10)
        assert page.status_code == 200 and 'data-topic="cauda-equina-urgent"' in page.text
        assert patient not in page.text and not shadow_rows(url)[1]  # no ids on the summary, nothing to audit
        day = body["differences"][0]["day"]
        detail = requests.get(server.base + "/workbench/shadow", params={"day": day, "topic": "cauda-equina-urgent"},
                              headers=auth, timeout=10)
        assert detail.status_code == 200 and f'data-patient="{patient}"' in detail.text
        assert answers[CHANGED_SCENARIO][0]["hookInstance"] in detail.text

    differences, views = shadow_rows(url)
    urgent = [d for d in differences if d.topic == "cauda-equina-urgent"]
    # the drill-down shows the call's every difference (emergency lost, urgent gained), each audited
    assert sorted((v.viewer, v.difference_id) for v in views) == [("dr-analyst", d.id) for d in differences]
    assert urgent[0].candidate_indicator == "warning" and urgent[0].live_indicator is None
    assert urgent[0].live_version != urgent[0].candidate_version
    assert patient not in server.stderr()  # ids go to the store, never to the log


def test_a_broken_candidate_library_stops_start_up_in_one_line(tmp_path):
    broken = candidate_library(tmp_path)
    (broken / "settings.yaml").write_text((broken / "settings.yaml").read_text().replace("thresholds:", "threshold:", 1))
    for folder, expected in ((tmp_path / "nowhere", "is not a card library folder"),
                             (broken, "the candidate card library does not load")):
        result = run_cli(["serve", "--dev", "--port", str(free_port())], NERVE_CDS_SHADOW_CARDS_DIR=str(folder),
                         NERVE_CDS_DATABASE_URL=f"sqlite:///{tmp_path}/fb.db")
        assert result.returncode == 2, result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "NERVE_CDS_SHADOW_CARDS_DIR" in lines[0] and expected in lines[0], result.stderr
        assert "Traceback" not in result.stderr
