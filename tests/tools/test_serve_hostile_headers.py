"""`nerve-cds serve` against requests crafted at gunicorn rather than at the app: a client-sent
SCRIPT_NAME header (a 500 with an HTML page, or every path re-rooted) and unparsable requests
that gunicorn logs as they came (a JWT in a header line, a query string in a request line)."""
from __future__ import annotations

import socket
import time

import pytest
import requests

from tests.helpers.serving import served

JWT = "eyJhbGciOiJFUzM4NCJ9.eyJpc3MiOiJodHRwczovL2VociJ9.c2lnbmF0dXJlLXNlY3JldA"


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    with served(tmp_path_factory.mktemp("serve"), workers=1) as server:
        yield server


@pytest.mark.parametrize("method, path, header", [
    ("GET", "/healthz", "/zzz"),
    ("GET", "/cds-services", "/x"),
    ("POST", "/cds-services/nerve-cds-patient-view", "/x"),
])
def test_a_script_name_header_that_is_no_prefix_is_ignored(service, method, path, header):
    answer = requests.request(method, service.base + path, headers={"SCRIPT_NAME": header}, timeout=10)
    assert answer.status_code < 500, answer.text[:200]
    assert "html" not in answer.headers.get("Content-Type", "")


def test_a_script_name_header_does_not_re_root_paths(service):
    rerooted = requests.get(service.base + "/whatever/healthz", headers={"SCRIPT_NAME": "/whatever"}, timeout=10)
    assert rerooted.status_code == 404
    assert requests.get(service.base + "/healthz", headers={"SCRIPT_NAME": "/whatever"}, timeout=10).status_code == 200


def _raw(service, payload: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", int(service.base.rsplit(":", 1)[1])), timeout=10) as sock:
        sock.sendall(payload)
        return sock.recv(200)


def _log_after(service, marker: str) -> str:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        text = service.stderr()
        if marker in text:
            return text
        time.sleep(0.1)
    return service.stderr()


def test_a_header_line_without_its_colon_is_logged_without_the_token(service):
    answer = _raw(service, b"POST /cds-services/nerve-cds-patient-view HTTP/1.1\r\nHost: x\r\n"
                           b"Authorization Bearer " + JWT.encode() + b"\r\nContent-Length: 0\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 400")
    log = _log_after(service, "Invalid HTTP Header")
    assert "Invalid HTTP Header" in log
    assert JWT not in log and JWT.split(".")[1] not in log and "c2lnbmF0dXJl" not in log


@pytest.mark.parametrize("target, secret", [
    (b"/cds-services?access_token=" + JWT.encode() + b"&code=s3cr3t-code\x7f", "s3cr3t-code"),
    (b"/workbench/explain?patient=MARKED-PATIENT-ID\x01&fhir_server=x", "MARKED-PATIENT-ID"),
])
def test_a_malformed_request_line_is_logged_without_its_query(service, target, secret):
    answer = _raw(service, b"GET " + target + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 400")
    log = _log_after(service, target.split(b"?")[0].decode() + "?")
    assert target.split(b"?")[0].decode() + "?" in log
    assert secret not in log and JWT not in log
