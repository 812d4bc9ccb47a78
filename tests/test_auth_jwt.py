"""Client authentication per CDS Hooks 2.0: every refusal is a bare 401; the token never leaks."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid

import pytest

from cds_service import create_app
from cds_service.settings import Settings
from cds_service.trust import TrustError
from fault_servers import Misbehaving, reply
from jwt_support import Issuer, bearer, write_trust_file

DISCOVERY = "/cds-services"
SERVICE = "/cds-services/nerve-cds-patient-view"
FEEDBACK = SERVICE + "/feedback"
BASE = "http://localhost"

SPEC_TOKEN = (
    "eyJhbGciOiJFUzM4NCIsInR5cCI6IkpXVCIsImtpZCI6ImV4YW1wbGUta2lkIiwiamt1IjoiaHR0cHM6Ly9maGlyLWVoci5leGFtcGxlLmNvbS9qd2tfdXJpIn0."
    "eyJpc3MiOiJodHRwczovL2ZoaXItZWhyLmV4YW1wbGUuY29tLyIsImF1ZCI6Imh0dHBzOi8vY2RzLmV4YW1wbGUub3JnL2Nkcy1zZXJ2aWNlcy9zb21lLXNlcnZpY2UiLCJleHAiOjE0MjI1Njg4NjAsImlhdCI6MTMxMTI4MDk3MCwianRpIjoiZWUyMmIwMjEtZTFiNy00NjExLWJhNWItOGVlYzZhMzNhYzFlIiwidGVuYW50IjoiMmRkZDZjM2EtOGU5YS00NGM2LWEzMDUtNTIxMTFhZDMwMmEyIn0."
    "d1WfLjGRKlcWB94l9do4cM8REXeYJLL6SGUBO8VHZhfM8mwKYP70EMxJ67War4TQblEpaQrp11wx5p7oPFm2ETYgCicS84vXWEIYTdjooZdooCSDf2L8-i4awdoUwiEb"
)
SPEC_JWKS = {"keys": [{"kty": "EC", "use": "sig", "crv": "P-384", "kid": "example-kid",
                       "x": "46SDH7Znh821wblCBglA61sNE9ZrHYKKt3qRtRTmSXyOI_FIGBLWrWa0GPUkDCEk",
                       "y": "XMcRuuoGW7CXjQdy-F5i3FeBE0x9hPLdeFdSoDd3ELmx404tLX0VRRcqzAsPhXcI", "alg": "ES384"}]}


@pytest.fixture
def ehr():
    return Issuer("https://ehr.example.org")


@pytest.fixture
def other():
    return Issuer("https://other-ehr.example.org", rsa_key=True)


def app_for(tmp_path, *clients, clock=None, **settings):
    trust = write_trust_file(tmp_path, *clients)
    return create_app(Settings(database_url=f"sqlite:///{tmp_path}/fb.db", trust_file=trust, **settings), clock=clock)


def status(app, token, path=DISCOVERY, method="get"):
    client = app.test_client()
    headers = bearer(token) if token is not None else {}
    if method == "get":
        return client.get(path, headers=headers)
    body = {"feedback": [{"card": "c1", "outcome": "overridden", "outcomeTimestamp": "2026-11-24T10:00:00Z"}]}
    return client.post(path, json=body, headers=headers)


def refused(response):
    return response.status_code == 401 and response.data == b"" and response.headers["WWW-Authenticate"] == "Bearer"


def test_valid_es384_and_rs384_tokens(tmp_path, ehr, other):
    app = app_for(tmp_path, {"issuer": ehr}, {"issuer": other})
    assert status(app, ehr.token(BASE + DISCOVERY)).status_code == 200
    assert status(app, other.token(BASE + DISCOVERY)).status_code == 200
    assert status(app, ehr.token(BASE + FEEDBACK), FEEDBACK, "post").status_code == 200


def test_no_token_refused_out_of_the_box(tmp_path, ehr):
    app = app_for(tmp_path, {"issuer": ehr})
    assert refused(status(app, None))
    assert app.test_client().get("/healthz").status_code == 200  # health stays open


def test_default_settings_refuse_unauthenticated_calls(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = create_app(Settings())
    assert refused(app.test_client().get(DISCOVERY))


@pytest.mark.parametrize("case", ["expired", "iat_future", "other_aud", "no_jti", "no_exp"])
def test_bad_claims_refused(tmp_path, ehr, case):
    app = app_for(tmp_path, {"issuer": ehr})
    now = time.time()
    token = {
        "expired": lambda: ehr.token(BASE + DISCOVERY, now=now - 3600),
        "iat_future": lambda: ehr.token(BASE + DISCOVERY, iat=int(now) + 600),
        "other_aud": lambda: ehr.token(BASE + SERVICE),
        "no_jti": lambda: ehr.token(BASE + DISCOVERY, drop=("jti",)),
        "no_exp": lambda: ehr.token(BASE + DISCOVERY, drop=("exp",)),
    }[case]()
    assert refused(status(app, token))


def test_unknown_issuer_and_unknown_kid(tmp_path, ehr, other):
    app = app_for(tmp_path, {"issuer": ehr})
    assert refused(status(app, other.token(BASE + DISCOVERY)))
    stranger = Issuer(ehr.iss, kid="not-registered")
    assert refused(status(app, stranger.token(BASE + DISCOVERY)))


def test_kid_of_another_clients_key_set(tmp_path, ehr, other):
    app = app_for(tmp_path, {"issuer": ehr}, {"issuer": other})
    impostor = Issuer(ehr.iss, kid=other.kid, rsa_key=True)
    impostor.private = other.private  # signed with the other client's key, claiming to be ehr
    assert refused(status(app, impostor.token(BASE + DISCOVERY)))


def test_alg_none_refused(tmp_path, ehr):
    app = app_for(tmp_path, {"issuer": ehr})
    def b64(data):
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
    now = int(time.time())
    token = b64({"alg": "none", "typ": "JWT", "kid": ehr.kid}) + "." + b64(
        {"iss": ehr.iss, "aud": BASE + DISCOVERY, "iat": now, "exp": now + 60, "jti": "x"}) + "."
    assert refused(status(app, token))


def test_hs256_with_public_key_refused(tmp_path, ehr):
    """Key confusion: an HMAC token keyed with the client's public key PEM."""
    app = app_for(tmp_path, {"issuer": ehr, "algorithms": ["ES384"]})
    from cryptography.hazmat.primitives import serialization
    pem = ehr.private.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    now = int(time.time())
    payload = {"iss": ehr.iss, "aud": BASE + DISCOVERY, "iat": now, "exp": now + 60, "jti": "k"}
    header = base64.urlsafe_b64encode(json.dumps({"alg": "HS256", "typ": "JWT", "kid": ehr.kid}).encode()).rstrip(b"=")
    body = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=")
    sig = base64.urlsafe_b64encode(hmac.new(pem, header + b"." + body, hashlib.sha256).digest()).rstrip(b"=")
    assert refused(status(app, (header + b"." + body + b"." + sig).decode()))


def test_symmetric_algorithm_in_trust_file_rejected(tmp_path, ehr):
    with pytest.raises(TrustError, match="only asymmetric"):
        app_for(tmp_path, {"issuer": ehr, "algorithms": ["HS256"]})


def test_unregistered_jku_is_never_fetched(tmp_path, ehr):
    with Misbehaving(reply(200, json.dumps(ehr.jwks()).encode(), "application/json")) as jwks_host:
        registered = f"http://127.0.0.1:{jwks_host.port}/registered.json"
        app = app_for(tmp_path, {"issuer": ehr, "jwks_url": registered}, dev=True)
        evil = f"http://127.0.0.1:{jwks_host.port}/evil.json"
        assert refused(status(app, ehr.token(BASE + DISCOVERY, headers={"jku": evil})))
        assert jwks_host.count == 0  # no request left the process


def test_jwks_url_fetched_cached_and_refreshed_at_most_once_a_minute(tmp_path, ehr):
    with Misbehaving(reply(200, json.dumps(ehr.jwks()).encode(), "application/json")) as jwks_host:
        url = f"http://127.0.0.1:{jwks_host.port}/jwks.json"
        app = app_for(tmp_path, {"issuer": ehr, "jwks_url": url}, dev=True)
        assert status(app, ehr.token(BASE + DISCOVERY, headers={"jku": url})).status_code == 200
        assert status(app, ehr.token(BASE + DISCOVERY)).status_code == 200
        assert jwks_host.count == 1  # cached
        rotated = Issuer(ehr.iss, kid="rotated")
        for _ in range(3):  # unknown kids do not make us hammer the client's server
            assert refused(status(app, rotated.token(BASE + DISCOVERY)))
        assert jwks_host.count == 1


def test_http_jwks_url_refused_outside_dev_mode(tmp_path, ehr):
    with pytest.raises(TrustError, match="https"):
        app_for(tmp_path, {"issuer": ehr, "jwks_url": "http://127.0.0.1:9/jwks.json"})


def test_replayed_jti_refused(tmp_path, ehr):
    app = app_for(tmp_path, {"issuer": ehr})
    token = ehr.token(BASE + DISCOVERY)
    assert status(app, token).status_code == 200
    assert refused(status(app, token))


def test_tenant_checked(tmp_path, ehr):
    app = app_for(tmp_path, {"issuer": ehr, "tenant": "hospital-a"})
    assert status(app, ehr.token(BASE + DISCOVERY, tenant="hospital-a")).status_code == 200
    assert refused(status(app, ehr.token(BASE + DISCOVERY, tenant="hospital-b")))
    assert refused(status(app, ehr.token(BASE + DISCOVERY)))


def test_aud_built_from_public_base_url_behind_a_proxy(tmp_path, ehr):
    app = app_for(tmp_path, {"issuer": ehr}, public_base_url="https://cds.example.org/nerve")
    assert status(app, ehr.token("https://cds.example.org/nerve" + DISCOVERY)).status_code == 200
    assert refused(status(app, ehr.token(BASE + DISCOVERY)))


def test_spec_example_token_verifies_at_its_own_time(tmp_path):
    from datetime import datetime, timezone
    (tmp_path / "spec.jwks.json").write_text(json.dumps(SPEC_JWKS))
    (tmp_path / "trust.yaml").write_text(
        "clients:\n  - iss: https://fhir-ehr.example.com/\n    jwks_file: spec.jwks.json\n"
        "    tenant: 2ddd6c3a-8e9a-44c6-a305-52111ad302a2\n")
    at_issue = lambda: datetime.fromtimestamp(1311280970 + 60, timezone.utc)  # noqa: E731
    settings = Settings(database_url=f"sqlite:///{tmp_path}/fb.db", trust_file=tmp_path / "trust.yaml",
                        public_base_url="https://cds.example.org")
    app = create_app(settings, clock=at_issue)
    # the example token's aud names service "some-service"; use the library with such a service id
    from cds_service.auth import ReplayCache, verify
    from cds_service.trust import load_trust
    client = verify(SPEC_TOKEN, "https://cds.example.org/cds-services/some-service",
                    load_trust(tmp_path / "trust.yaml", dev=False), ReplayCache(), 1311280970 + 60)
    assert client.iss == "https://fhir-ehr.example.com/"
    # through the app: its aud is another endpoint, so the same token is refused here
    assert refused(app.test_client().get(DISCOVERY, headers=bearer(SPEC_TOKEN)))
    # and today it has long expired
    with pytest.raises(Exception, match="expired"):
        verify(SPEC_TOKEN, "https://cds.example.org/cds-services/some-service",
               load_trust(tmp_path / "trust.yaml", dev=False), ReplayCache(), time.time())


def test_sandbox_issuer_only_in_dev_mode(tmp_path):
    sandbox = Issuer("https://sandbox.cds-hooks.org")
    with pytest.raises(TrustError, match="dev mode"):
        app_for(tmp_path, {"issuer": sandbox})
    app = app_for(tmp_path, {"issuer": sandbox}, dev=True)
    assert status(app, sandbox.token(BASE + DISCOVERY)).status_code == 200


def test_auth_off_only_in_dev_mode(tmp_path):
    prod = create_app(Settings(database_url=f"sqlite:///{tmp_path}/a.db", auth_enabled=False))
    assert refused(prod.test_client().get(DISCOVERY))
    dev = create_app(Settings(database_url=f"sqlite:///{tmp_path}/b.db", dev=True, auth_enabled=False))
    assert dev.test_client().get(DISCOVERY).status_code == 200


def test_example_trust_file_in_the_readme_loads():
    from pathlib import Path
    from cds_service.trust import load_trust
    trust = load_trust(Path(__file__).parents[1] / "examples" / "trust.yaml", dev=False)
    assert set(trust.clients) == {"https://ehr.example.org", "https://other-ehr.example.net"}
    assert trust.client("https://ehr.example.org").fhir_servers == ("https://ehr.example.org/fhir/r4",)
    assert trust.client("https://other-ehr.example.net").keyset.key("other-ehr-2026")
