"""`nerve-cds fixtures load` when things go wrong, and what it reports when they go right.

A server that refuses a transaction, a URL that is not a FHIR server, a prefix that would make ids
no FHIR server may accept: each must be a clear message and a non-zero exit, never a traceback.
"""
from __future__ import annotations

import json
import shutil
from datetime import date, timedelta

import requests
from click.testing import CliRunner

from cds_service.core.settings import Settings
from cds_service.tools.cli import main
from tests.helpers.fault_servers import Misbehaving, closed_port_url, reply

SID = "s01-acute-lumbar-radiculopathy"
WIDE = {"COLUMNS": "300"}


def load(*args, env=None):
    return CliRunner().invoke(main, ["fixtures", "load", *args], env={**WIDE, **(env or {})})


def test_a_refused_transaction_shows_the_servers_operation_outcome(fhir_base_url, tmp_path):
    fixtures = tmp_path / "fixtures"
    shutil.copytree(Settings().fixtures_dir / "fhir" / SID, fixtures / "fhir" / "z01-broken")
    bundle_file = fixtures / "fhir" / "z01-broken" / "bundle.json"
    bundle = json.loads(bundle_file.read_text())
    observation = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Observation")
    del observation["status"]  # required in R4: the server must refuse the whole transaction
    bundle_file.write_text(json.dumps(bundle))

    result = load("--fhir-server", fhir_base_url, "--prefix", "broken-", "z01-broken",
                  env={"NERVE_CDS_FIXTURES_DIR": str(fixtures)})

    assert result.exit_code == 1, result.output
    assert "400" in result.output and "status" in result.output.lower(), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    patient = requests.get(f"{fhir_base_url}/Patient/broken-{SID}-patient", timeout=10)
    assert patient.status_code == 404, "a refused transaction leaves nothing behind"


def test_a_4xx_with_operation_outcome_is_reported_with_its_diagnostics():
    outcome = {"resourceType": "OperationOutcome",
               "issue": [{"severity": "error", "code": "processing", "diagnostics": "HAPI-0389: client id must not be numeric"}]}
    with Misbehaving(reply(422, json.dumps(outcome).encode())) as server:
        result = load("--fhir-server", server.base_url, SID)
    assert result.exit_code == 1
    assert "422" in result.output and "HAPI-0389: client id must not be numeric" in result.output
    assert SID in result.output


def test_a_url_that_is_not_a_fhir_server_is_a_clear_error_not_a_traceback():
    with Misbehaving(reply(200, b"<html>welcome</html>", "text/html")) as server:
        result = load("--fhir-server", server.base_url, SID)
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "not a FHIR Bundle" in result.output and "text/html" in result.output


def test_a_down_server_stops_after_the_first_scenario_and_says_so():
    result = load("--fhir-server", closed_port_url(), SID, "s03-classic-cauda-equina")
    assert result.exit_code == 1
    assert "Cannot reach the FHIR server" in result.output and "not sent" in result.output
    assert "s03-classic-cauda-equina-patient" not in result.output, "no point trying the rest"


def test_a_prefix_with_characters_outside_fhir_ids_is_refused_before_sending():
    with Misbehaving(reply(500, b"")) as server:
        result = load("--fhir-server", server.base_url, "--prefix", "jd_", SID)
        assert server.count == 0
    assert result.exit_code == 2 and "FHIR id characters" in result.output


def test_a_prefix_that_makes_ids_over_64_characters_is_refused_with_the_room_left():
    with Misbehaving(reply(500, b"")) as server:
        result = load("--fhir-server", server.base_url, "--prefix", "a-very-long-personal-prefix-")
        assert server.count == 0
    assert result.exit_code == 2 and "at most 64" in result.output
    room = int(result.output.split("prefix of at most ")[1].split()[0])
    ok = load("--fhir-server", closed_port_url(), "--prefix", "p" * room)
    assert "at most 64" not in ok.output, "the advertised room really fits"


def test_loading_twice_reports_updates_not_creations(fhir_base_url):
    first = load("--fhir-server", fhir_base_url, "--prefix", "twice-", "s14-cervical-radiculopathy-7-weeks")
    second = load("--fhir-server", fhir_base_url, "--prefix", "twice-", "s14-cervical-radiculopathy-7-weeks")
    assert first.exit_code == 0 and second.exit_code == 0, second.output

    def counts(output):
        row = next(line for line in output.splitlines() if "twice-s14" in line)
        cells = [c.strip() for c in row.split("│") if c.strip()]
        return int(cells[2]), int(cells[3])

    created, updated = counts(first.output)
    assert created > 0 and updated == 0
    assert counts(second.output) == (0, created)


def test_today_anchors_the_dates_on_the_server(fhir_base_url):
    result = load("--fhir-server", fhir_base_url, "--prefix", "anchor-", "--today", "2024-03-01", SID)
    assert result.exit_code == 0, result.output
    pid = f"anchor-{SID}-patient"
    bundle = requests.get(f"{fhir_base_url}/Condition?patient={pid}", timeout=10).json()
    onsets = {e["resource"]["onsetDateTime"][:10] for e in bundle["entry"]}
    assert onsets == {(date(2024, 3, 1) - timedelta(days=14)).isoformat()}
    patient = requests.get(f"{fhir_base_url}/Patient/{pid}", timeout=10).json()
    assert patient["birthDate"] == "1982-03-01"
