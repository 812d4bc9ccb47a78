"""Client authentication per CDS Hooks 2.0: every refusal is a bare 401; the token never leaks."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import time
from datetime import datetime, timezone

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from flask import g

from cds_service.core.settings import Settings
from cds_service.web.trust import TrustError
from tests.helpers.apps import SERVING, new_app
from tests.helpers.calls import CES, hook
from tests.helpers.paths import EXAMPLES
from tests.helpers.tokens import Issuer, bearer, write_trust_file

DISCOVERY = "/cds-services"
SERVICE = "/cds-services/nerve-cds-patient-view"
FEEDBACK = SERVICE + "/feedback"
BASE = "http://localhost"

SPEC_TOKEN = (
    "eyJhbGciOiJFUzM4NCIsInR5cCI6IkpXVCIsImtpZCI6ImV4YW1wbGUta2lkIiwiamt1IjoiaHR0cHM6Ly9maGlyLWVoci5leGFtcGxlLmNvbS9qd2tfdXJpIn0."
    "eyJpc3MiOiJodHRwczovL2ZoaXItZWhyLmV4YW1wbGUuY29tLyIsImF1ZCI6Imh0dHBzOi8vY2RzLmV4YW1wbGUub3JnL2Nkcy1zZXJ2aWNlcy9zb21lLXNlcnZpY2UiLCJleHAiOjE0MjI1Njg4NjAsImlhdCI6MTMxMTI4MDk3MCwianRpIjoiZWUyMmIwMjEtZTFiNy00NjExLWJhNWItOGVlYzZhMzNhYzFlIiwidGVuYW50IjoiMmRkZDZjM2EtOGU5YS00NGM2LWEzMDUtNTIxMTFhZDMwMmEyIn0."
    "d1WfLjGRKlcWB94l9do4cM8REXeYJLL6SGUBO8VHZhfM8mwKYP70EMxJ67War4TQblEpaQrp11wx5p7oPFm2ETYgCicS84vXWEIYTdjooZdooCSDf2L8-i4awdoUwiEb"
)
SPEC_IAT, SPEC_EXP = 1311280970, 1422568860
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
    return new_app(Settings(**{**SERVING, "database_url": f"sqlite:///{tmp_path}/fb.db", "trust_file": trust, **settings}),
                   clock=clock)


def status(app, token, path=DISCOVERY, method="get", card="c1"):
    client = app.test_client()
    headers = bearer(token) if token is not None else {}
    if method == "get":
        return client.get(path, headers=headers)
    body = {"feedback": [{"card": card, "outcome": "overridden", "outcomeTimestamp": "2026-11-24T10:00:00Z"}]}
    return client.post(path, json=body, headers=headers)


def refused(response):
    return response.status_code == 401 and response.data == b"" and response.headers["WWW-Authenticate"] == "Bearer"


def test_valid_es384_and_rs384_tokens(tmp_path, ehr, other):
    app = app_for(tmp_path, {"issuer": ehr}, {"issuer": other})
    assert status(app, ehr.token(BASE + DISCOVERY)).status_code == 200
    assert status(app, other.token(BASE + DISCOVERY)).status_code == 200
    card = app.test_client().post(SERVICE, json=hook(prefetch=CES), headers=bearer(ehr.token(BASE + SERVICE))).get_json()
    assert status(app, ehr.token(BASE + FEEDBACK), FEEDBACK, "post", card["cards"][0]["uuid"]).status_code == 200


def test_no_token_refused_out_of_the_box(tmp_path, ehr):
    app = app_for(tmp_path, {"issuer": ehr})
    assert refused(status(app, None))
    assert app.test_client().get("/healthz").status_code == 200  # health stays open


def test_default_settings_refuse_unauthenticated_calls(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = new_app(Settings(**SERVING))
    assert refused(app.test_client().get(DISCOVERY))


@pytest.mark.parametrize("case", ["expired", "iat_future", "other_aud", "no_jti", "no_exp", "no_iat",
                                  "aud_list_with_others", "feedback_aud_on_service", "typ", "no_kid"])
def test_bad_claims_refused(tmp_path, ehr, case):
    app = app_for(tmp_path, {"issuer": ehr})
    now = time.time()
    token = {
        "expired": lambda: ehr.token(BASE + DISCOVERY, now=now - 3600),
        "iat_future": lambda: ehr.token(BASE + DISCOVERY, iat=int(now) + 600),
        "other_aud": lambda: ehr.token(BASE + SERVICE),
        "no_jti": lambda: ehr.token(BASE + DISCOVERY, drop=("jti",)),
        "no_exp": lambda: ehr.token(BASE + DISCOVERY, drop=("exp",)),
        "no_iat": lambda: ehr.token(BASE + DISCOVERY, drop=("iat",)),
        "aud_list_with_others": lambda: ehr.token([BASE + DISCOVERY, BASE + SERVICE]),
        "feedback_aud_on_service": lambda: ehr.token(BASE + FEEDBACK),
        "typ": lambda: ehr.token(BASE + DISCOVERY, headers={"typ": "at+jwt"}),
        "no_kid": lambda: jwt.encode({"iss": ehr.iss, "aud": BASE + DISCOVERY, "iat": int(now), "exp": int(now) + 60,
                                      "jti": "j"}, ehr.private, algorithm="ES384", headers={"typ": "JWT"}),
    }[case]()
    assert refused(status(app, token))


def test_aud_as_a_one_element_list_accepted(tmp_path, ehr):
    app = app_for(tmp_path, {"issuer": ehr})
    assert status(app, ehr.token([BASE + DISCOVERY])).status_code == 200


def test_token_of_another_key_family_is_a_401_not_a_500(tmp_path, ehr):
    """RS384 claimed for an EC key, ES256 over a P-384 key: refused cleanly."""
    app = app_for(tmp_path, {"issuer": ehr, "algorithms": ["ES384", "RS384", "ES256"]})
    rsa_under_ec_kid = Issuer(ehr.iss, kid=ehr.kid, rsa_key=True)
    assert refused(status(app, rsa_under_ec_kid.token(BASE + DISCOVERY)))
    p256 = ec.generate_private_key(ec.SECP256R1())
    now = int(time.time())
    es256 = jwt.encode({"iss": ehr.iss, "aud": BASE + DISCOVERY, "iat": now, "exp": now + 60, "jti": "e"},
                       p256, algorithm="ES256", headers={"kid": ehr.kid, "typ": "JWT"})
    assert refused(status(app, es256))


@pytest.mark.parametrize("header", [{"alg": ["ES384"]}, {"kid": ["k"]}, {"typ": ["JWT"]}, {"alg": "HS384"}, {}])
def test_malformed_headers_are_a_401_not_a_500(tmp_path, ehr, header):
    app = app_for(tmp_path, {"issuer": ehr})
    def b64(data):
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
    now = int(time.time())
    head = {"alg": "ES384", "typ": "JWT", "kid": ehr.kid, **header} if header else ["not", "an", "object"]
    token = b64(head) + "." + b64({"iss": ehr.iss, "aud": BASE + DISCOVERY, "iat": now, "exp": now + 60, "jti": "m"}) + ".AAAA"
    assert refused(status(app, token))
    assert refused(status(app, "a.b"))


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
    """The spec's ES384 example, through the real app at https://cds.example.org with the clock at
    the token's iat and its years-long lifetime allowed: authentication passes (404: there is no service "some-service" in our library)."""
    (tmp_path / "spec.jwks.json").write_text(json.dumps(SPEC_JWKS))
    (tmp_path / "trust.yaml").write_text(
        "clients:\n  - iss: https://fhir-ehr.example.com/\n    jwks_file: spec.jwks.json\n"
        "    tenant: 2ddd6c3a-8e9a-44c6-a305-52111ad302a2\n")
    settings = Settings(**{**SERVING, "database_url": f"sqlite:///{tmp_path}/fb.db", "trust_file": tmp_path / "trust.yaml",
                           "public_base_url": "https://cds.example.org", "jwt_max_lifetime_seconds": SPEC_EXP - SPEC_IAT})
    app = new_app(settings, clock=lambda: datetime.fromtimestamp(SPEC_IAT + 60, timezone.utc))
    client = app.test_client()
    assert refused(client.get(DISCOVERY, headers=bearer(SPEC_TOKEN)))  # its aud is the service, not discovery
    first = client.post("/cds-services/some-service", json={}, headers=bearer(SPEC_TOKEN))
    assert first.status_code == 404
    assert refused(client.post("/cds-services/some-service", json={}, headers=bearer(SPEC_TOKEN)))  # jti replayed
    late = new_app(settings, clock=lambda: datetime.fromtimestamp(SPEC_EXP + 61, timezone.utc))
    assert refused(late.test_client().post("/cds-services/some-service", json={}, headers=bearer(SPEC_TOKEN)))


def test_replay_refused_by_another_worker_sharing_the_database(tmp_path, ehr):
    """gunicorn runs several processes: a jti accepted by one must be refused by the others."""
    first, second = app_for(tmp_path, {"issuer": ehr}), app_for(tmp_path, {"issuer": ehr})
    token = ehr.token(BASE + DISCOVERY)
    assert status(first, token).status_code == 200
    assert refused(status(second, token))
    assert status(second, ehr.token(BASE + DISCOVERY)).status_code == 200


def test_replay_cache_without_its_database_still_refuses_replays_in_process(tmp_path, caplog):
    from cds_service.storage import open_storage
    from cds_service.web.auth import ReplayCache
    cache = ReplayCache(open_storage(f"sqlite:///{tmp_path}/no/such/dir/jti.db").replay)
    now = time.time()
    assert cache.add("https://ehr.example.org", "j1", now + 60, now) is True
    assert cache.add("https://ehr.example.org", "j1", now + 60, now) is False
    assert cache.add("https://ehr.example.org", "j1", now + 60, now + 200) is True  # expired: forgotten
    assert any("replay cache unavailable" in r.getMessage() for r in caplog.records)


def test_replay_refused_during_the_clock_skew_after_exp(tmp_path, ehr):
    """A token just past exp is still accepted (skew), so its jti must still be remembered."""
    now = time.time()
    app = app_for(tmp_path, {"issuer": ehr}, clock=lambda: datetime.fromtimestamp(now, timezone.utc))
    token = ehr.token(BASE + DISCOVERY, now=now - 330)  # exp = now - 30
    assert status(app, token).status_code == 200
    assert refused(status(app, token))


def test_verified_client_is_on_flask_g(tmp_path, ehr):
    app = app_for(tmp_path, {"issuer": ehr, "tenant": "t-1", "fhir_servers": ["https://ehr.example.org/fhir"]})
    app.add_url_rule("/cds-services/_whoami", "whoami", lambda: {
        "iss": g.cds_client.iss, "tenant": g.cds_client.tenant, "fhir": list(g.cds_client.fhir_servers)})
    body = app.test_client().get("/cds-services/_whoami", headers=bearer(ehr.token(BASE + "/cds-services/_whoami", tenant="t-1"))).json
    assert body == {"iss": ehr.iss, "tenant": "t-1", "fhir": ["https://ehr.example.org/fhir"]}


def test_dev_mode_without_auth_warns_at_start_and_marks_every_request_line(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    app = new_app(Settings(database_url=f"sqlite:///{tmp_path}/d.db", dev=True, auth_enabled=False))
    assert any("authentication is OFF" in r.getMessage() for r in caplog.records)
    caplog.clear()
    for _ in range(2):
        assert app.test_client().get(DISCOVERY).status_code == 200
    # one line per call (issue #20): the warning rides on the request line, not a line of its own
    assert [r.name for r in caplog.records] == ["nerve_cds.request", "nerve_cds.request"]
    assert all(r.fields["warning"] == "dev mode: caller not authenticated" for r in caplog.records)


def test_refusal_logs_iss_kid_jti_and_reason_never_the_token(tmp_path, ehr, caplog):
    caplog.set_level(logging.DEBUG)
    app = app_for(tmp_path, {"issuer": ehr})
    token = ehr.token(BASE + SERVICE, jti="jti-42")
    assert refused(status(app, token))
    lines = [r.getMessage() for r in caplog.records if r.name == "nerve_cds.auth"]
    assert len(lines) == 1
    assert ehr.iss in lines[0] and ehr.kid in lines[0] and "jti-42" in lines[0] and "aud" in lines[0]
    assert token not in lines[0] and token.split(".")[2] not in lines[0]


def test_sandbox_issuer_only_in_dev_mode(tmp_path):
    sandbox = Issuer("https://sandbox.cds-hooks.org")
    with pytest.raises(TrustError, match="dev mode"):
        app_for(tmp_path, {"issuer": sandbox})
    app = app_for(tmp_path, {"issuer": sandbox}, dev=True)
    assert status(app, sandbox.token(BASE + DISCOVERY)).status_code == 200


def test_auth_off_only_in_dev_mode(tmp_path):
    prod = new_app(Settings(**SERVING, database_url=f"sqlite:///{tmp_path}/a.db", auth_enabled=False))
    assert refused(prod.test_client().get(DISCOVERY))
    dev = new_app(Settings(database_url=f"sqlite:///{tmp_path}/b.db", dev=True, auth_enabled=False))
    assert dev.test_client().get(DISCOVERY).status_code == 200


def test_example_trust_file_in_the_readme_loads():
    from cds_service.web.trust import load_trust
    trust = load_trust(EXAMPLES / "trust.yaml", dev=False)
    assert set(trust.clients) == {"https://ehr.example.org", "https://other-ehr.example.net"}
    assert trust.client("https://ehr.example.org").fhir_servers == ("https://ehr.example.org/fhir/r4",)
    assert trust.client("https://other-ehr.example.net").keyset.key("other-ehr-2026", time.time())
