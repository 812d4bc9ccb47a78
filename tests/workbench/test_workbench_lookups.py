"""What an analyst asks the workbench and the command line besides "which cards?" (issue #21
item 5): would a suppressed rule have fired, one rule's explanation, an order hook for a patient on
a FHIR server with draft orders from the form, and reverse look-ups (a code -> its value sets and
the rules using them; a setting -> its rules). The CLI runs as a process, the pages through the
real Flask app, the patient on the real FHIR server."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

from cds_service.core.settings import Settings
from cds_service.data.scenarios import load_scenario
from tests.helpers.apps import new_app
from tests.helpers.workbench import dev_settings

ROOT = Path(__file__).resolve().parents[2]
E12 = "e12-order-select-mri-bilateral-sciatica"


def nerve_cds(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "cds_service", *args], env=env, capture_output=True, text=True, timeout=120)


def bare_draft() -> dict:
    """e12's selected lumbar MRI as an analyst pastes it: no id, no subject (the form fills them)."""
    scenario = load_scenario(Settings().fixtures_dir, E12, date.today())
    draft = dict(scenario.request["context"]["draftOrders"]["entry"][0]["resource"])
    draft.pop("id"), draft.pop("subject")
    return draft


def test_explain_says_whether_a_suppressed_rule_would_have_fired():
    out = nerve_cds("explain", "s03-classic-cauda-equina", "--rule", "CES-2", "--rule", "MYE-1")
    assert out.returncode == 0, out.stderr
    assert "CES-2 [cauda-equina-urgent] SUPPRESSED by CES-1 (would have fired)" in out.stdout
    assert "MYE-1 [cervical-myelopathy] SUPPRESSED by CES-1 (would not have fired)" in out.stdout
    assert "CES-1 [" not in out.stdout  # filtered to the rules asked for
    body = json.loads(nerve_cds("explain", "s03-classic-cauda-equina", "--json").stdout)
    (ces2,) = [r for r in body["explanation"]["rules"] if r["rule"] == "CES-2"]
    assert ces2["wouldHaveFired"] is True and ces2["when"]["held"] is True
    assert [c["source"]["topic"]["code"] for c in body["cards"]] == ["cauda-equina-emergency"]  # cards unchanged
    unknown = nerve_cds("explain", "s03-classic-cauda-equina", "--rule", "CES-9")
    assert unknown.returncode == 2 and unknown.stderr.strip() == "nerve-cds: --rule: no rule CES-9 in the card library"


def test_the_explain_page_filters_by_rule_and_shows_would_have_fired(tmp_path):
    client = new_app(dev_settings(tmp_path)).test_client()
    html = client.get("/workbench/explain/s03-classic-cauda-equina?rule=CES-2").get_data(as_text=True)
    assert '<span class="would" data-rule="CES-2">— would have fired</span>' in html
    assert "<b>MYE-1</b>" not in html and 'id="rule-filter"' in html


def test_cards_where_a_code_and_a_setting_are_used():
    code = json.loads(nerve_cds("cards", "where", "http://hl7.org/fhir/sid/icd-10-cm|G83.4", "--json").stdout)
    assert [v["id"] for v in code["valueSets"]] == ["cauda-equina-syndrome"]
    uses = {(u["kind"], u["name"]) for u in code["uses"]}
    assert ("finding", "cauda-equina-syndrome") in uses and ("rule", "CES-1") in uses
    setting = nerve_cds("cards", "where", "ces_recent_days")
    assert setting.returncode == 0 and "setting ces_recent_days = 14" in setting.stdout
    assert "rule CES-1: condition" in setting.stdout and "rule CES-2: condition" in setting.stdout
    none = nerve_cds("cards", "where", "no-such-thing")
    assert none.returncode == 1 and len(none.stderr.strip().splitlines()) == 1 and "Traceback" not in none.stderr


def test_the_where_page(tmp_path):
    client = new_app(dev_settings(tmp_path)).test_client()
    html = client.get("/workbench/where?q=G83.4").get_data(as_text=True)
    assert 'data-valueset="cauda-equina-syndrome"' in html and 'data-kind="rule" data-name="CES-1"' in html
    assert client.get("/workbench/where?q=ces_recent_days").get_data(as_text=True).count('data-kind="rule"') >= 2
    assert client.get("/workbench/where?q=nothing-here").status_code == 404


def test_an_order_hook_for_a_patient_on_a_fhir_server(tmp_path, fhir_base_url):
    loaded = nerve_cds("fixtures", "load", "--fhir-server", fhir_base_url, "--prefix", "wbo-", E12)
    assert loaded.returncode == 0, loaded.stderr
    patient = f"wbo-{E12}-patient"
    drafts = tmp_path / "drafts.json"
    drafts.write_text(json.dumps([bare_draft()]))
    out = nerve_cds("explain", "--fhir-server", fhir_base_url, "--patient", patient, "--hook", "order-select",
                    "--drafts", str(drafts), "--json")
    assert out.returncode == 0, out.stderr
    body = json.loads(out.stdout)
    assert body["hook"] == "order-select"
    assert "cauda-equina-urgent" in [c["source"]["topic"]["code"] for c in body["cards"]]
    no_drafts = nerve_cds("explain", "--fhir-server", fhir_base_url, "--patient", patient, "--hook", "order-sign")
    assert no_drafts.returncode == 1 and "needs draft orders" in no_drafts.stderr

    client = new_app(dev_settings(tmp_path, fhir_allowlist=(fhir_base_url,), fhir_allow_http=True)).test_client()
    page = client.get("/workbench/explain", query_string={"fhir_server": fhir_base_url, "patient": patient,
                                                         "hook": "order-sign", "drafts": json.dumps(bare_draft())})
    html = page.get_data(as_text=True)
    assert page.status_code == 200, html[:500]
    assert "order-sign" in html and "cauda-equina-urgent" in html
    bad = client.get("/workbench/explain", query_string={"fhir_server": fhir_base_url, "patient": patient,
                                                        "hook": "order-select", "drafts": "[1, 2]"})
    assert bad.status_code == 400 and "draft orders must be a FHIR resource" in bad.get_data(as_text=True)
    assert 'name="hook"' in client.get("/workbench/").get_data(as_text=True)


def test_where_a_setting_is_used_outside_the_rules():
    """Analyst walk M1: adult_min_age is also the imaging protection of cards/context.yaml."""
    out = nerve_cds("cards", "where", "adult_min_age")
    assert out.returncode == 0, out.stderr
    assert "  context orders.imaging_protected_below_age: value in cards/context.yaml" in out.stdout
    assert "  rule PAED-1: condition" in out.stdout
    fever = json.loads(nerve_cds("cards", "where", "fever_temp_c", "--json").stdout)
    assert {"kind": "findings", "name": "measurements.measured-fever.at_least",
            "via": "value in cards/findings.yaml"} in fever["uses"]
    window = nerve_cds("cards", "where", "repeat_mri_days")
    assert "  context repeats.windows.repeat_mri_days: key in cards/context.yaml" in window.stdout


def test_the_where_page_lists_a_settings_uses_outside_the_rules(tmp_path):
    client = new_app(dev_settings(tmp_path)).test_client()
    html = client.get("/workbench/where?q=adult_min_age").get_data(as_text=True)
    assert 'data-kind="context" data-name="orders.imaging_protected_below_age"' in html
    assert "value in cards/context.yaml" in html
