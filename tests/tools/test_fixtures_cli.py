"""`nerve-cds fixtures`: scenarios really land on a FHIR server, prefixes keep loads apart."""
from __future__ import annotations

import requests
from click.testing import CliRunner

from cds_service.tools.cli import main
from tests.helpers.fault_servers import closed_port_url


def get(base, path):
    return requests.get(f"{base}/{path}", headers={"Accept": "application/fhir+json"}, timeout=10)


def test_load_puts_the_scenario_on_the_server(fhir_base_url):
    result = CliRunner().invoke(main, ["fixtures", "load", "--fhir-server", fhir_base_url, "s05-isolated-retention-bph"], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    assert "s05-isolated-retention-bph-patient" in result.output and "loaded" in result.output
    patient = get(fhir_base_url, "Patient/s05-isolated-retention-bph-patient")
    assert patient.status_code == 200 and patient.json()["gender"] == "male"
    conditions = get(fhir_base_url, "Condition?patient=s05-isolated-retention-bph-patient").json()
    assert {e["resource"]["code"]["coding"][0]["code"] for e in conditions["entry"]} == {"N40.1", "R33.9"}


def test_prefix_keeps_two_loads_apart(fhir_base_url):
    runner = CliRunner()
    for prefix in ("alice-", "bob-"):
        result = runner.invoke(main, ["fixtures", "load", "--fhir-server", fhir_base_url, "--prefix", prefix, "s13-carpal-tunnel-atrophy"])
        assert result.exit_code == 0, result.output
    for prefix in ("alice-", "bob-"):
        pid = f"{prefix}s13-carpal-tunnel-atrophy-patient"
        assert get(fhir_base_url, f"Patient/{pid}").status_code == 200
        bundle = get(fhir_base_url, f"Condition?patient={pid}").json()
        (entry,) = bundle["entry"]
        assert entry["resource"]["id"].startswith(prefix) and entry["resource"]["subject"]["reference"] == f"Patient/{pid}"


def test_down_server_is_a_clear_error():
    result = CliRunner().invoke(main, ["fixtures", "load", "--fhir-server", closed_port_url(), "s01-acute-lumbar-radiculopathy"])
    assert result.exit_code == 1 and "Cannot reach the FHIR server" in result.output


def test_unknown_scenario_is_refused(fhir_base_url):
    result = CliRunner().invoke(main, ["fixtures", "load", "--fhir-server", fhir_base_url, "s99-nope"])
    assert result.exit_code == 2 and "unknown scenario" in result.output


def test_list_shows_expected_cards():
    result = CliRunner().invoke(main, ["fixtures", "list"], env={"COLUMNS": "250"})
    assert result.exit_code == 0
    assert "s03-classic-cauda-equina" in result.output and "cauda-equina-emergency (critical)" in result.output
