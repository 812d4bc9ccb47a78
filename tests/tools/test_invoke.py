"""`nerve-cds invoke` acts as an EHR, in process and against a running service with a JWT."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization

from cds_service.tools.cli import main
from tests.helpers.fault_servers import Misbehaving, reply
from tests.helpers.fhir_server import free_port
from tests.helpers.tokens import Issuer, write_trust_file

S03 = "s03-classic-cauda-equina"


@pytest.fixture(scope="module")
def loaded(fhir_base_url):
    result = CliRunner().invoke(main, ["fixtures", "load", "--fhir-server", fhir_base_url, S03, "o01-mri-for-acute-back-pain"])
    assert result.exit_code == 0, result.output
    return fhir_base_url


def invoke(*args):
    return CliRunner().invoke(main, ["invoke", *args], env={"COLUMNS": "200"})


def topics(output):
    return {(c["source"]["topic"]["code"], c["indicator"]) for c in json.loads(output)["cards"]}


def test_in_process_with_and_without_prefetch(loaded):
    fetched = invoke("patient-view", "--fhir-server", loaded, "--patient", f"{S03}-patient", "--json")
    prefetched = invoke("patient-view", "--fhir-server", loaded, "--patient", f"{S03}-patient", "--json", "--prefetch")
    assert fetched.exit_code == 0 and prefetched.exit_code == 0, fetched.output + prefetched.output
    assert topics(fetched.stdout) == topics(prefetched.stdout) == {("cauda-equina-emergency", "critical")}


def test_readable_output(loaded):
    result = invoke("patient-view", "--fhir-server", loaded, "--patient", f"{S03}-patient")
    assert result.exit_code == 0
    assert "CRITICAL" in result.output and "Possible cauda equina syndrome" in result.output
    assert "72148 (cpt), priority stat" in result.output and "Override reasons" in result.output


def test_order_select_with_a_draft_file(loaded, tmp_path):
    draft = {"resourceType": "ServiceRequest", "id": "cli-mri", "status": "draft", "intent": "order",
             "code": {"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": "72148"}]}}
    (tmp_path / "draft.json").write_text(json.dumps(draft))
    result = invoke("order-select", "--fhir-server", loaded, "--patient", "o01-mri-for-acute-back-pain-patient",
                    "--draft", str(tmp_path / "draft.json"), "--json")
    assert result.exit_code == 0, result.output
    card = json.loads(result.stdout)["cards"][0]
    assert card["source"]["topic"]["code"] == "imaging-not-indicated"
    assert card["suggestions"][0]["actions"][0] == {**card["suggestions"][0]["actions"][0], "resourceId": "ServiceRequest/cli-mri"}


def test_against_a_running_service_with_a_jwt(loaded, tmp_path):
    issuer = Issuer("https://cli-test-ehr.example.org")
    key = tmp_path / "key.pem"
    key.write_bytes(issuer.private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                 serialization.NoEncryption()))
    port = free_port()
    env = {**os.environ, "NERVE_CDS_TRUST_FILE": str(write_trust_file(tmp_path, {"issuer": issuer})),
           "NERVE_CDS_FHIR_ALLOWLIST": loaded, "NERVE_CDS_DEV": "1", "NERVE_CDS_AUTH_ENABLED": "1",
           "NERVE_CDS_DATABASE_URL": f"sqlite:///{tmp_path}/fb.db", "NERVE_CDS_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}"}
    exe = str(Path(sys.executable).parent / "nerve-cds")
    server = subprocess.Popen([exe, "serve", "--dev", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.1)
        base = ["patient-view", "--fhir-server", loaded, "--patient", f"{S03}-patient", "--service", f"http://127.0.0.1:{port}"]
        signed = invoke(*base, "--key", str(key), "--kid", issuer.kid, "--iss", issuer.iss, "--json")
        assert signed.exit_code == 0, signed.output
        assert topics(signed.stdout) == {("cauda-equina-emergency", "critical")}
        unsigned = invoke(*base)
        assert unsigned.exit_code == 1 and "401" in unsigned.output
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_an_unreachable_fhir_server_is_named(tmp_path):
    port = free_port()
    result = invoke("patient-view", "--fhir-server", f"http://127.0.0.1:{port}/fhir", "--patient", "abc")
    assert result.exit_code == 2  # an operator's mistake, like a bad setting
    assert f"cannot reach the FHIR server http://127.0.0.1:{port}/fhir (connection refused" in " ".join(result.output.split())


def test_a_url_that_is_not_a_fhir_server_is_named():
    with Misbehaving(reply(200, b"<html>welcome</html>", "text/html")) as server:
        result = invoke("patient-view", "--fhir-server", server.base_url, "--patient", "abc")
    assert result.exit_code == 1
    assert "does not look like a FHIR server" in " ".join(result.output.split())


def test_a_missing_patient_is_named(loaded):
    result = invoke("patient-view", "--fhir-server", loaded, "--patient", "no-such-patient-here")
    assert result.exit_code == 1
    assert "no Patient/no-such-patient-here on" in " ".join(result.output.split())
