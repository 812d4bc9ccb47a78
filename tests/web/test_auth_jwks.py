"""Client key sets: a registered JWK Set URL is the only one ever fetched, cached, and refreshed on
an unknown kid at most once a minute; the sandbox's published key is trusted in dev mode only."""
from __future__ import annotations

import json
import time
from datetime import datetime, timezone

import pytest

from cds_service.core.settings import Settings
from cds_service.web.trust import TrustError, load_trust
from tests.helpers.apps import SERVING, new_app
from tests.helpers.fault_servers import Misbehaving, SilentSocket, reply, trickle
from tests.helpers.tokens import Issuer, bearer, write_trust_file

DISCOVERY = "/cds-services"
AUD = "http://localhost" + DISCOVERY


class Clock:
    """The app's clock, moved by the test."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> datetime:
        return datetime.fromtimestamp(self.now, timezone.utc)


def app_for(tmp_path, *clients, clock=None, dev=False, **settings):
    trust = write_trust_file(tmp_path, *clients)
    return new_app(Settings(**{**SERVING, "database_url": f"sqlite:///{tmp_path}/fb.db", "trust_file": trust, "dev": dev,
                                 **settings}), clock=clock)


def call(app, token):
    return app.test_client().get(DISCOVERY, headers=bearer(token)).status_code


def serving(keysets: dict):
    """A JWKS host answering with whatever keysets["current"] is at the time of the request."""
    def respond(handler):
        reply(200, json.dumps(keysets["current"]).encode(), "application/json")(handler)
    return Misbehaving(respond)


@pytest.mark.parametrize("registered", ["file", "url"])
def test_unregistered_jku_is_never_contacted(tmp_path, registered):
    """The jku points at a listening socket registered nowhere: it sees no connection."""
    ehr = Issuer("https://ehr.example.org")
    with SilentSocket() as trap, serving({"current": ehr.jwks()}) as host:
        entry = {"issuer": ehr}
        if registered == "url":
            entry["jwks_url"] = f"http://127.0.0.1:{host.port}/jwks.json"
        app = app_for(tmp_path, entry, dev=True)
        evil = f"http://127.0.0.1:{trap.port}/jwks.json"
        # a file-registered client's jku is ignored (its keys came out of band); a URL client's must match
        assert call(app, ehr.token(AUD, headers={"jku": evil})) == (200 if registered == "file" else 401)
        assert call(app, Issuer(ehr.iss, kid="attacker-kid").token(AUD, headers={"jku": evil})) == 401
        time.sleep(0.3)  # the trap's accept loop polls every 0.2 s
        assert trap.accepted == []
        assert host.count == 0  # a mismatched jku does not even refresh the registered set


def test_jwks_url_cached_and_rotation_picked_up_at_most_once_a_minute(tmp_path):
    ehr = Issuer("https://ehr.example.org")
    rotated = Issuer(ehr.iss, kid="rotated-2027")
    keysets = {"current": ehr.jwks()}
    clock = Clock()
    with serving(keysets) as host:
        url = f"http://127.0.0.1:{host.port}/jwks.json"
        app = app_for(tmp_path, {"issuer": ehr, "jwks_url": url}, clock=clock, dev=True)
        assert call(app, ehr.token(AUD, now=clock.now, headers={"jku": url})) == 200
        assert call(app, ehr.token(AUD, now=clock.now)) == 200
        assert host.count == 1  # cached
        keysets["current"] = {"keys": [ehr.public_jwk(), rotated.public_jwk()]}
        clock.now += 30
        for _ in range(3):  # within the minute: unknown kid refused, the host is asked once more at most
            assert call(app, rotated.token(AUD, now=clock.now)) == 401
        assert host.count == 1  # last fetch was 30 s ago
        clock.now += 31
        assert call(app, rotated.token(AUD, now=clock.now)) == 200  # refreshed: the new key is known
        assert host.count == 2
        assert call(app, ehr.token(AUD, now=clock.now)) == 200  # old key still in the new set
        assert call(app, Issuer(ehr.iss, kid="never").token(AUD, now=clock.now)) == 401
        assert host.count == 2


def test_jwks_host_failure_is_a_401_and_keeps_the_keys_we_had(tmp_path):
    ehr = Issuer("https://ehr.example.org")
    clock = Clock()
    keysets = {"current": ehr.jwks()}
    with serving(keysets) as host:
        url = f"http://127.0.0.1:{host.port}/jwks.json"
        app = app_for(tmp_path, {"issuer": ehr, "jwks_url": url}, clock=clock, dev=True)
        assert call(app, ehr.token(AUD, now=clock.now)) == 200
        keysets["current"] = ["not", "a", "key", "set"]
        clock.now += 61
        assert call(app, Issuer(ehr.iss, kid="new").token(AUD, now=clock.now)) == 401
        assert host.count == 2
        assert call(app, ehr.token(AUD, now=clock.now)) == 200


def test_unreachable_jwks_url_is_a_401(tmp_path):
    ehr = Issuer("https://ehr.example.org")
    with SilentSocket() as silent:  # accepts and never answers: the read timeout ends the wait
        app = app_for(tmp_path, {"issuer": ehr, "jwks_url": f"http://127.0.0.1:{silent.port}/jwks.json"}, dev=True,
                      jwks_timeout=0.5)
        started = time.monotonic()
        assert call(app, ehr.token(AUD)) == 401
        assert time.monotonic() - started < 3  # the configured wait, not the 5 s default


def test_http_jwks_url_refused_outside_dev_mode(tmp_path):
    ehr = Issuer("https://ehr.example.org")
    with pytest.raises(TrustError, match="https"):
        app_for(tmp_path, {"issuer": ehr, "jwks_url": "http://127.0.0.1:9/jwks.json"})
    with pytest.raises(TrustError, match="https"):
        app_for(tmp_path, {"issuer": ehr, "jwks_url": "http://127.0.0.1.nip.io/jwks.json"}, dev=True)


@pytest.mark.parametrize("entry", [
    {"iss": "https://sandbox.cds-hooks.org", "jwks_file": "k.json"},
    {"iss": "https://sandbox.cds-hooks.org/", "jwks_file": "k.json"},
    {"iss": "https://my-ehr.example.org", "jwks_url": "https://sandbox.cds-hooks.org/.well-known/jwks.json"},
])
def test_sandbox_refused_outside_dev_mode_with_a_clear_error(tmp_path, entry):
    (tmp_path / "k.json").write_text(json.dumps(Issuer("x").jwks()))
    (tmp_path / "trust.yaml").write_text(json.dumps({"clients": [entry]}))
    with pytest.raises(TrustError, match="sandbox.*dev mode"):
        load_trust(tmp_path / "trust.yaml", dev=False)
    assert load_trust(tmp_path / "trust.yaml", dev=True).clients


@pytest.mark.parametrize("content, message", [
    ({"clients": [{"iss": "https://a.example", "jwks_file": "k.json", "algorithms": ["ES384", "none"]}]}, "asymmetric"),
    ({"clients": [{"iss": "https://a.example", "jwks_file": "k.json", "algorithms": "HS256"}]}, "asymmetric"),
    ({"clients": [{"iss": "https://a.example", "jwks_file": "k.json"}, {"iss": "https://a.example", "jwks_file": "k.json"}]}, "twice"),
    ({"clients": [{"iss": "https://a.example"}]}, "jwks"),
    ({"clients": [{"iss": "https://a.example", "jwks_file": "missing.json"}]}, "jwks_file"),
    ({"clients": [{"jwks_file": "k.json"}]}, "iss"),
    ({"clients": [{"iss": "https://a.example", "jwks_file": "k.json", "fhir_servers": [{"url": "x"}]}]}, "fhir_servers"),
])
def test_broken_trust_file_refused_at_start_up(tmp_path, content, message):
    (tmp_path / "k.json").write_text(json.dumps(Issuer("x").jwks()))
    (tmp_path / "trust.yaml").write_text(json.dumps(content))
    with pytest.raises(TrustError, match=message):
        new_app(Settings(**SERVING, database_url=f"sqlite:///{tmp_path}/fb.db", trust_file=tmp_path / "trust.yaml"))


def test_symmetric_keys_in_a_key_set_are_ignored(tmp_path):
    ehr = Issuer("https://ehr.example.org")
    (tmp_path / "k.json").write_text(json.dumps({"keys": [
        ehr.public_jwk(), {"kty": "oct", "kid": "shared", "k": "c2VjcmV0c2VjcmV0c2VjcmV0"}]}))
    (tmp_path / "trust.yaml").write_text(json.dumps({"clients": [{"iss": ehr.iss, "jwks_file": "k.json"}]}))
    keyset = load_trust(tmp_path / "trust.yaml", dev=False).client(ehr.iss).keyset
    assert set(keyset.keys) == {ehr.kid}


def test_single_fhir_server_given_as_a_string(tmp_path):
    (tmp_path / "k.json").write_text(json.dumps(Issuer("x").jwks()))
    (tmp_path / "trust.yaml").write_text("clients:\n  - iss: https://a.example\n    jwks_file: k.json\n"
                                         "    fhir_servers: https://a.example/fhir\n")
    assert load_trust(tmp_path / "trust.yaml", dev=False).client("https://a.example").fhir_servers == (
        "https://a.example/fhir",)


def test_a_trickling_jwks_url_is_cut_off_by_the_whole_fetch_deadline(tmp_path):
    """Every socket read succeeds within the timeout (a byte every 0.2 s), so only a deadline on
    the whole fetch ends it: the call is a 401 within the configured wait, not the trickle's."""
    ehr = Issuer("https://ehr.example.org")
    body = json.dumps(ehr.jwks()).encode() + b" " * 200
    with Misbehaving(trickle(200, body, 0.2, headers_too=False)) as host:
        app = app_for(tmp_path, {"issuer": ehr, "jwks_url": f"http://127.0.0.1:{host.port}/jwks.json"}, dev=True,
                      jwks_timeout=1.0)
        started = time.monotonic()
        assert call(app, ehr.token(AUD)) == 401
        assert time.monotonic() - started < 3


def test_an_oversized_jwks_is_refused(tmp_path):
    ehr = Issuer("https://ehr.example.org")
    keys = ehr.jwks()
    keys["padding"] = "x" * 300_000
    with Misbehaving(reply(200, json.dumps(keys).encode(), "application/json")) as host:
        app = app_for(tmp_path, {"issuer": ehr, "jwks_url": f"http://127.0.0.1:{host.port}/jwks.json"}, dev=True)
        assert call(app, ehr.token(AUD)) == 401
