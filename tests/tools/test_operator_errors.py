"""What an operator sees when a setting, the trust file, the card library or the port is wrong:
one line naming the problem and exit 2, never a traceback. Runs the real `nerve-cds` command."""
from __future__ import annotations

import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from cds_service.core.settings import Settings, SettingsError
from tests.helpers.fault_servers import SilentSocket, closed_port_url
from tests.helpers.fhir_server import free_port

NERVE_CDS = [sys.executable, "-m", "cds_service"]


# What `serve` outside dev mode needs before anything else can be wrong.
SERVING = {"NERVE_CDS_PUBLIC_BASE_URL": "https://cds.example.org", "NERVE_CDS_CARD_ID_KEY": "k" * 32}


def run(args: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("NERVE_CDS_")}
    clean["NERVE_CDS_DATABASE_URL"] = f"sqlite:///{tmp_path}/fb.db"
    return subprocess.run(NERVE_CDS + args, env={**clean, **SERVING, **env}, capture_output=True, text=True, timeout=60)


def assert_one_line(result: subprocess.CompletedProcess, *words: str) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    for word in words:
        assert word in lines[0]


@pytest.mark.parametrize("variable, value, words", [
    ("NERVE_CDS_DEV", "ture", ["NERVE_CDS_DEV", "boolean"]),
    ("NERVE_CDS_FHIR_READ_TIMEOUT", "soon", ["NERVE_CDS_FHIR_READ_TIMEOUT", "number"]),
    ("NERVE_CDS_FHIR_READ_TIMEOUT", "-3", ["NERVE_CDS_FHIR_READ_TIMEOUT", "greater than 0"]),
    ("NERVE_CDS_LOG_LEVEL", "chatty", ["NERVE_CDS_LOG_LEVEL"]),
    ("NERVE_CDS_TRUSTFILE", "/etc/trust.yaml", ["NERVE_CDS_TRUSTFILE", "not a nerve-cds setting"]),
    ("NERVE_CDS_DEVV", "1", ["NERVE_CDS_DEVV", "(known: NERVE_CDS_AUTH_ENABLED, ", " NERVE_CDS_DEV, "]),
    ("NERVE_CDS_CORS_ORIGINS", "not-a-url", ["NERVE_CDS_CORS_ORIGINS", "'not-a-url' is not an origin"]),
    ("NERVE_CDS_FHIR_ALLOWLIST", "not-a-url", ["NERVE_CDS_FHIR_ALLOWLIST", "not a FHIR base URL"]),
    ("NERVE_CDS_PUBLIC_BASE_URL", "not-a-url", ["NERVE_CDS_PUBLIC_BASE_URL", "not a base URL"]),
    ("NERVE_CDS_CARDS_DIR", "/nonexistent",
     ["NERVE_CDS_CARDS_DIR", "/nonexistent is not a card library folder (no services.yaml)"]),
])
def test_a_bad_environment_value_is_one_line(tmp_path, variable, value, words):
    assert_one_line(run(["serve", "--port", str(free_port())], tmp_path, **{variable: value}), *words)
    assert_one_line(run(["cards", "validate"], tmp_path, **{variable: value}), *words)


# A password in the URL must never be echoed: it would end up in deploy logs.
SECRET = "s3cret-pw"


@pytest.mark.parametrize("url, words", [
    ("sqlte:///x.db", ["unknown database 'sqlte'", "postgresql, sqlite"]),
    ("::::", ["not a database URL"]),
    (f"nerve:{SECRET}@db.example.org/cds", ["not a database URL"]),
    (f"postgresql+pg8000://nerve:{SECRET}@db.example.org/cds", ["'postgresql+pg8000'", "not installed"]),
    (f"postgresql+nosuch://nerve:{SECRET}@db.example.org/cds", ["unknown database driver", "'postgresql+nosuch'"]),
    (f"postgresql://nerve:{SECRET}@db.example.org:port/cds", ["not a valid 'postgresql' URL"]),
])
def test_a_bad_database_url_is_one_line_naming_the_setting_not_the_url(tmp_path, url, words):
    result = run(["db", "upgrade"], tmp_path, NERVE_CDS_DATABASE_URL=url)
    assert_one_line(result, "NERVE_CDS_DATABASE_URL", *words)
    assert SECRET not in result.stderr + result.stdout


@pytest.mark.parametrize("command", ["serve", "feedback report"])
def test_the_service_and_the_report_refuse_a_bad_database_url_in_one_line(tmp_path, command):
    args = ["serve", "--port", str(free_port())] if command == "serve" else command.split()
    result = run(args, tmp_path, NERVE_CDS_DATABASE_URL=f"sqlte://nerve:{SECRET}@db.example.org/cds")
    assert_one_line(result, "NERVE_CDS_DATABASE_URL", "unknown database 'sqlte'")
    assert SECRET not in result.stderr + result.stdout


@pytest.mark.parametrize("command", ["serve", "db upgrade"])
def test_a_database_migrated_by_a_newer_version_is_one_line(tmp_path, command):
    """Alembic cannot find the revision a newer nerve-cds wrote: said in one line, not its traceback."""
    database = tmp_path / "newer.db"
    with sqlite3.connect(database) as conn:
        conn.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)")
        conn.execute("INSERT INTO alembic_version VALUES ('0099')")
    args = ["serve", "--port", str(free_port())] if command == "serve" else command.split()
    result = run(args, tmp_path, NERVE_CDS_DATABASE_URL=f"sqlite:///{database}")
    assert_one_line(result, "NERVE_CDS_DATABASE_URL", "revision '0099'", "newer version")


@pytest.mark.parametrize("variable", ["NERVE_CDS_DEV", "NERVE_CDS_AUTH_ENABLED"])
def test_a_bad_boolean_is_refused_whatever_the_dev_flag(tmp_path, variable):
    """`serve --dev` sets both; it must not hide a value that every other command refuses."""
    assert_one_line(run(["serve", "--dev", "--port", str(free_port())], tmp_path, **{variable: "ture"}),
                    variable, "boolean")


@pytest.mark.parametrize("args, env, variable", [
    (["serve"], {"NERVE_CDS_PUBLIC_BASE_URL": ""}, "NERVE_CDS_PUBLIC_BASE_URL: required"),
    (["serve", "--dev"], {"NERVE_CDS_PUBLIC_BASE_URL": "", "NERVE_CDS_AUTH_ENABLED": "1"}, "NERVE_CDS_PUBLIC_BASE_URL: required"),
    (["serve"], {"NERVE_CDS_CARD_ID_KEY": ""}, "NERVE_CDS_CARD_ID_KEY: required"),
    (["serve"], {"NERVE_CDS_PUBLIC_BASE_URL": "https://cds.example.org/?x"}, "NERVE_CDS_PUBLIC_BASE_URL: not a base URL"),
    (["serve"], {"NERVE_CDS_CARD_ID_KEY": SECRET}, "NERVE_CDS_CARD_ID_KEY: must be at least 32"),
])
def test_the_service_will_not_start_without_an_audience_or_a_card_key(tmp_path, args, env, variable):
    """JWT aud is never taken from the request, so an authenticating service needs its public base
    URL; outside dev mode card uuids need their key (docs/operations.md: Configuration)."""
    result = run(args + ["--port", str(free_port())], tmp_path, **env)
    assert_one_line(result, variable)
    assert SECRET not in result.stderr + result.stdout


def test_settings_refuse_what_they_used_to_read_as_false():
    with pytest.raises(SettingsError):
        Settings.from_env({"NERVE_CDS_DEV": "ture"})
    assert Settings.from_env({"NERVE_CDS_DEV": "yes", "NERVE_CDS_FHIR_ALLOWLIST": "https://a, https://b"}).fhir_allowlist \
        == ("https://a", "https://b")
    with pytest.raises(ValueError):
        Settings(dev=True, no_such_setting=1)


def test_a_misspelt_trust_file_key_is_refused(tmp_path):
    trust = tmp_path / "trust.yaml"
    trust.write_text("client:\n  - iss: https://ehr.example.org\n    jwks_url: https://ehr.example.org/jwks\n")
    result = run(["serve", "--port", str(free_port())], tmp_path, NERVE_CDS_TRUST_FILE=str(trust))
    assert_one_line(result, "trust.yaml", "client", "Extra inputs are not permitted")
    trust.write_text("clients:\n  - iss: https://ehr.example.org\n    jwks_ulr: https://ehr.example.org/jwks\n")
    assert_one_line(run(["serve", "--port", str(free_port())], tmp_path, NERVE_CDS_TRUST_FILE=str(trust)),
                    "clients.0.jwks_ulr")


def test_a_broken_card_library_is_one_line(tmp_path):
    cards = tmp_path / "cards"
    shutil.copytree(Settings().cards_dir, cards)
    rule_file = cards / "rules" / "cauda-equina.yaml"
    rule_file.write_text(rule_file.read_text().replace("topic: cauda-equina-emergency", "topic: cauda-equina-emergenc", 1))
    result = run(["serve", "--dev", "--port", str(free_port())], tmp_path, NERVE_CDS_CARDS_DIR=str(cards))
    assert_one_line(result, "cards/rules/cauda-equina.yaml", "cauda-equina-emergenc")


def test_a_port_in_use_is_one_line(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run(["serve", "--dev", "--port", str(port)], tmp_path)
    assert_one_line(result, f"127.0.0.1:{port}", "in use")


def listening_addresses(port: int) -> set[str]:
    """Local IPv4 addresses with a listening TCP socket on `port`, from /proc/net/tcp."""
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        address, hex_port = local.split(":")
        if state == "0A" and int(hex_port, 16) == port:
            found.add(socket.inet_ntoa(bytes.fromhex(address)[::-1]))
    return found


def test_dev_mode_listens_on_loopback_only(tmp_path):
    port = free_port()
    clean = {k: v for k, v in os.environ.items() if not k.startswith("NERVE_CDS_")}
    process = subprocess.Popen(NERVE_CDS + ["serve", "--dev", "--port", str(port), "--workers", "1"],
                               env={**clean, "NERVE_CDS_DATABASE_URL": f"sqlite:///{tmp_path}/fb.db"},
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                time.sleep(0.2)
        assert listening_addresses(port) == {"127.0.0.1"}
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_version_and_module_entry_point(tmp_path):
    result = run(["--version"], tmp_path)
    assert result.returncode == 0 and result.stdout.startswith("nerve-cds, version ")


def a_trust_file(tmp_path: Path, client: str) -> Path:
    trust = tmp_path / "trust.yaml"
    trust.write_text("clients:\n  - iss: https://ehr.example.org\n" + client)
    return trust


@pytest.mark.parametrize("jwks, words", [
    ("{keys: [{kid: k1, kty: EC}]}", ["clients[0].jwks", "keys[0] (kid k1)", "Not an Elliptic curve key"]),
    ("{keys: [{kid: k1, kty: EC, crv: P-384, x: '!', y: '1'}]}", ["clients[0].jwks", "keys[0] (kid k1)"]),
    ("{keys: [{kid: k1, kty: RSA, alg: XX, n: AQAB, e: AQAB, d: private-part}]}",
     ["clients[0].jwks", "keys[0] (kid k1)", "no signing algorithm"]),
    ("{keys: [{kid: [k1], kty: EC}]}", ["clients[0].jwks", "keys[0].kid: not a string"]),
    ("{keys: 5}", ["clients[0].jwks", "not a JWK Set"]),
])
def test_a_malformed_inline_jwks_is_one_line(tmp_path, jwks, words):
    trust = a_trust_file(tmp_path, f"    jwks: {jwks}\n")
    result = run(["serve", "--port", str(free_port())], tmp_path, NERVE_CDS_TRUST_FILE=str(trust))
    assert_one_line(result, "trust.yaml", *words)
    assert "private-part" not in result.stderr  # a private key pasted by mistake is never echoed


def test_a_malformed_jwks_file_is_one_line(tmp_path):
    (tmp_path / "keys.json").write_text('{"keys": [{"kid": "k1", "kty": "nope"}]}')
    trust = a_trust_file(tmp_path, "    jwks_file: keys.json\n")
    result = run(["serve", "--port", str(free_port())], tmp_path, NERVE_CDS_TRUST_FILE=str(trust))
    assert_one_line(result, "clients[0].jwks_file", "Unsupported kty: nope")


@pytest.mark.parametrize("dev", [False, True])
def test_a_missing_trust_file_is_refused_even_in_dev_mode(tmp_path, dev):
    args = ["serve", "--port", str(free_port())] + (["--dev"] if dev else [])
    result = run(args, tmp_path, NERVE_CDS_TRUST_FILE=str(tmp_path / "no-such-trust.yaml"))
    assert_one_line(result, "no-such-trust.yaml", "cannot be read")


def test_a_broken_trust_file_is_refused_in_dev_mode(tmp_path):
    trust = a_trust_file(tmp_path, "    jwks_ulr: https://ehr.example.org/jwks\n")
    result = run(["serve", "--dev", "--port", str(free_port())], tmp_path, NERVE_CDS_TRUST_FILE=str(trust))
    assert_one_line(result, "clients.0.jwks_ulr")


@pytest.fixture(scope="module")
def fhir_with_a_patient(fhir_base_url, tmp_path_factory):
    result = run(["fixtures", "load", "--fhir-server", fhir_base_url, "s03-classic-cauda-equina"],
                 tmp_path_factory.mktemp("load"))
    assert result.returncode == 0, result.stderr
    return fhir_base_url


def invoke_args(fhir: str, *more: str) -> list[str]:
    return ["invoke", "patient-view", "--fhir-server", fhir, "--patient", "s03-classic-cauda-equina-patient", *more]


def test_invoke_with_nothing_listening_at_the_service_is_one_line(tmp_path, fhir_with_a_patient):
    nothing = f"http://127.0.0.1:{free_port()}"
    result = run(invoke_args(fhir_with_a_patient, "--service", nothing), tmp_path)
    assert_one_line(result, f"cannot reach the service at {nothing}", "connection refused")


def test_invoke_with_a_silent_service_times_out_in_one_line(tmp_path, fhir_with_a_patient):
    with SilentSocket() as silent:
        service = f"http://127.0.0.1:{silent.port}"
        started = time.monotonic()
        result = run(invoke_args(fhir_with_a_patient, "--service", service, "--timeout", "1"), tmp_path)
    assert time.monotonic() - started < 30
    assert_one_line(result, f"cannot reach the service at {service}", "no answer within 1 s")


@pytest.mark.parametrize("service, words", [("localhost:8080", ["not an http(s) URL"]),
                                            ("http://[::1", ["not an http(s) URL"])])
def test_invoke_with_a_service_url_that_is_not_one_is_one_line(tmp_path, fhir_with_a_patient, service, words):
    assert_one_line(run(invoke_args(fhir_with_a_patient, "--service", service), tmp_path), "cannot reach the service", *words)


def test_invoke_with_an_unreachable_fhir_server_is_one_line(tmp_path):
    fhir = closed_port_url()
    result = run(invoke_args(fhir), tmp_path)
    assert_one_line(result, f"cannot reach the FHIR server {fhir}", "connection refused")
