"""The command-line tools against a hostile FHIR server and malformed operator files: nothing is
sent off the named server (no `next` link or redirect to another host is followed), and every
malformed answer or file ends in one line, never a traceback (issue #17)."""
from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler

import pytest
from click.testing import CliRunner

from cds_service.core.settings import Settings
from cds_service.tools.cli import main
from tests.helpers.fault_servers import Bystander, Misbehaving, reply

CAPABILITY = {"resourceType": "CapabilityStatement", "status": "active", "kind": "instance", "fhirVersion": "4.0.1"}
PATIENT = {"resourceType": "Patient", "id": "p1"}


def hostile(conditions: dict):
    """A FHIR server with Patient/p1 whose Condition search answers `conditions`."""
    def respond(handler: BaseHTTPRequestHandler) -> None:
        path = handler.path
        if handler.command == "POST":
            return reply(405, b'{"resourceType":"OperationOutcome","issue":[]}')(handler)
        if path.endswith("/metadata"):
            body = CAPABILITY
        elif path.startswith("/fhir/Patient/p1"):
            body = PATIENT
        elif path.startswith("/fhir/Condition"):
            body = conditions
        else:
            body = {"resourceType": "Bundle", "type": "searchset", "entry": []}
        return reply(200, json.dumps(body).encode())(handler)
    return respond


def run(*args: str):
    return CliRunner().invoke(main, list(args), env={"COLUMNS": "200"})


def one_line_error(result, status: int = 2) -> str:
    assert result.exit_code == status, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    return result.output


def test_invoke_prefetch_never_follows_a_next_link_to_another_host():
    with Bystander() as bystander:
        steal = {"resourceType": "Bundle", "type": "searchset", "entry": [],
                 "link": [{"relation": "next", "url": f"http://127.0.0.1:{bystander.port}/steal?x=1"}]}
        with Misbehaving(hostile(steal)) as server:
            result = run("invoke", "patient-view", "--fhir-server", server.base_url, "--patient", "p1",
                         "--prefetch", "--json", "--timeout", "5")
    assert bystander.seen == []
    assert "outside the FHIR server" in one_line_error(result)


@pytest.mark.parametrize("conditions, why", [
    ({"resourceType": "Bundle", "type": "searchset", "link": ["oops"]}, "link[0] is not an object"),
    ({"resourceType": "Bundle", "type": "searchset", "entry": 5}, "entry is not a list"),
    ({"resourceType": "Bundle", "type": "searchset", "entry": {"a": 1}}, "entry is not a list"),
])
def test_invoke_prefetch_reports_a_malformed_bundle_in_one_line(conditions, why):
    with Misbehaving(hostile(conditions)) as server:
        result = run("invoke", "patient-view", "--fhir-server", server.base_url, "--patient", "p1",
                     "--prefetch", "--json", "--timeout", "5")
    assert why in one_line_error(result)


def test_fixtures_load_reports_a_redirect_and_never_reposts_the_patients():
    with Bystander() as bystander:
        redirect = reply(307, b"", headers={"Location": f"http://127.0.0.1:{bystander.port}/collect"})
        with Misbehaving(redirect) as server:
            result = run("fixtures", "load", "--fhir-server", server.base_url, "s03-classic-cauda-equina")
    assert bystander.seen == []
    output = one_line_error(result, status=1)
    assert "redirect" in output and "loaded" not in output


def test_fixtures_load_refuses_a_url_the_strict_parser_refuses():
    result = run("fixtures", "load", "--fhir-server", "http://127.0.0.1:1\\@evil/fhir", "s03-classic-cauda-equina")
    assert "backslash" in one_line_error(result)


@pytest.mark.parametrize("content, why", [
    (b'[{"resourceType": "ServiceRequest"}]', "not a JSON object"),
    (b'{"resourceType": "ServiceRequest", "status": "draft", "intent": "order"}', "needs an id"),
    (b"\xff\xfe\x00binary", "not valid JSON"),
])
def test_invoke_reports_a_bad_draft_file_in_one_line(tmp_path, content, why):
    draft = tmp_path / "draft.json"
    draft.write_bytes(content)
    with Misbehaving(hostile({"resourceType": "Bundle", "type": "searchset", "entry": []})) as server:
        result = run("invoke", "order-select", "--fhir-server", server.base_url, "--patient", "p1",
                     "--draft", str(draft), "--timeout", "5")
    assert why in one_line_error(result)


def test_explain_reports_a_request_file_that_is_not_utf8_in_one_line(tmp_path):
    request = tmp_path / "binary.json"
    request.write_bytes(b"\xff\xfe\x00binary")
    assert "not UTF-8" in one_line_error(run("explain", "--request", str(request)), status=1)


def test_cards_diff_reports_a_request_file_that_is_not_utf8_in_one_line(tmp_path):
    folder = tmp_path / "requests"
    folder.mkdir()
    (folder / "a.json").write_bytes(b"\xff\xfe\x00binary")
    result = run("cards", "diff", "--cards-dir", str(Settings.from_env().cards_dir), "--requests", str(folder))
    assert "not UTF-8" in one_line_error(result)
