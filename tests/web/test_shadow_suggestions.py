"""Analyst walk M6 (issue #21): shadow mode compares suggestions too, and its drill-down shows per
hook call everything that changed. A candidate that only changes what a card's suggestion does
(the drafted MRI no longer deleted) is a difference; a call where the candidate swaps the
paediatric card for one suggesting to delete the drafted MRI shows both, with the suggestion, on
one row. The real Flask app with a real candidate library, the report as a process."""
from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from cds_service.core.settings import Settings
from tests.helpers.apps import new_app
from tests.helpers.paths import CARDS, ROOT
from tests.helpers.workbench import hook_request

TOKEN = "workbench-token-for-shadow-suggestions-0123"
REPLACE = "Replace the imaging order with a physiotherapy referral"


def candidate(folder: Path, file: str, pattern: str, replacement: str) -> Path:
    target = folder / "candidate-cards"
    shutil.copytree(CARDS, target)
    text, n = re.subn(pattern, replacement, (target / file).read_text())
    assert n == 1, pattern
    (target / file).write_text(text)
    return target


def shadowed(tmp_path: Path, cards: Path, scenario: str) -> tuple[str, dict]:
    """Send the scenario's hook call to a service shadowed by `cards`; its database URL and request."""
    url = f"sqlite:///{tmp_path}/fb.db"
    app = new_app(Settings(dev=True, auth_enabled=False, log_level="WARNING", database_url=url, shadow_cards_dir=cards,
                           workbench_enabled=True, workbench_token=TOKEN))
    client = app.test_client()
    service, body = hook_request(scenario, client.get("/cds-services").get_json())
    assert client.post(f"/cds-services/{service}", json=body).status_code == 200
    assert app.extensions["nerve_cds.shadow"].flush(30)
    return url, body, client


def shadow_report(url: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NERVE_CDS_")}
    env.update(PYTHONPATH=str(ROOT), NERVE_CDS_DATABASE_URL=url)
    result = subprocess.run([sys.executable, "-m", "cds_service", "shadow", "report", "--json"], env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_a_changed_suggestion_alone_is_a_difference(tmp_path):
    cards = candidate(tmp_path, "rules/orders.yaml", r"delete_drafts: true(, label: \"" + REPLACE + ")",
                      r"delete_drafts: false\1")
    url, _, _ = shadowed(tmp_path, cards, "o01-mri-for-acute-back-pain")
    (row,) = shadow_report(url)["differences"]
    assert row["topic"] == "imaging-not-indicated" and row["changes"]["suggestions"] == 1
    assert sum(row["changes"].values()) == 1  # same indicator, same summary


def test_the_drill_down_shows_each_call_with_everything_it_changed(tmp_path):
    cards = candidate(tmp_path, "settings.yaml", r"(adult_min_age:\n    value: )18\b", r"\g<1>7")
    url, body, client = shadowed(tmp_path, cards, "p02-child-10-lumbar-mri-order")
    rows = {r["topic"]: r["changes"] for r in shadow_report(url)["differences"]}
    assert rows["imaging-not-indicated"]["gained"] == 1 and rows["paediatric-back-pain"]["lost"] == 1
    auth = {"Authorization": "Basic " + base64.b64encode(f"dr-analyst:{TOKEN}".encode()).decode()}
    day = shadow_report(url)["differences"][0]["day"]
    html = client.get("/workbench/shadow", query_string={"day": day, "topic": "imaging-not-indicated"},
                      headers=auth).get_data(as_text=True)
    (call,) = re.findall(r'<tr data-patient="[^"]*" data-hook-instance="([^"]+)">(.*?)</tr>', html, re.S)
    assert call[0] == body["hookInstance"]
    assert 'data-topic="paediatric-back-pain" data-change="lost"' in call[1]
    assert 'data-topic="imaging-not-indicated" data-change="gained"' in call[1]
    assert f"&#8594; delete, create: {REPLACE}" in call[1]
