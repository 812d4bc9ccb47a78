"""CORS for browser-based CDS clients: configured origins only, preflight answered without a token."""
from __future__ import annotations

import pytest

from cds_service.core.settings import Settings, SettingsError
from tests.helpers.apps import SERVING, new_app
from tests.helpers.tokens import Issuer, bearer, write_trust_file

DISCOVERY = "/cds-services"
SERVICE = "/cds-services/nerve-cds-patient-view"
ORIGIN = "https://ehr.example.org"


def preflight(app, path, method="POST", origin=ORIGIN):
    return app.test_client().options(path, headers={
        "Origin": origin, "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": "Authorization, Content-Type"})


@pytest.fixture
def ehr():
    return Issuer(ORIGIN)


@pytest.fixture
def app(tmp_path, ehr):
    """Authentication on, one allowed origin (as an operator would set NERVE_CDS_CORS_ORIGINS)."""
    settings = Settings.from_env({"NERVE_CDS_CORS_ORIGINS": f"{ORIGIN}, https://second.example.org"},
                                 database_url=f"sqlite:///{tmp_path}/fb.db",
                                 trust_file=write_trust_file(tmp_path, {"issuer": ehr}), **SERVING)
    return new_app(settings)


@pytest.mark.parametrize("path, method", [(DISCOVERY, "GET"), (SERVICE, "POST"), (SERVICE + "/feedback", "POST")])
def test_preflight_for_a_configured_origin_needs_no_token(app, path, method):
    r = preflight(app, path, method)
    assert r.status_code == 200  # not 401: the browser sends no Authorization on a preflight
    assert r.headers["Access-Control-Allow-Origin"] == ORIGIN
    allowed_headers = {h.strip().lower() for h in r.headers["Access-Control-Allow-Headers"].split(",")}
    assert {"authorization", "content-type"} <= allowed_headers
    allowed_methods = {m.strip() for m in r.headers["Access-Control-Allow-Methods"].split(",")}
    assert {"GET", "POST", "OPTIONS"} <= allowed_methods and not allowed_methods & {"PUT", "DELETE", "PATCH"}


def test_second_configured_origin_allowed_and_others_not(app):
    assert preflight(app, SERVICE, origin="https://second.example.org").headers[
        "Access-Control-Allow-Origin"] == "https://second.example.org"
    other = preflight(app, SERVICE, origin="https://evil.example")
    assert "Access-Control-Allow-Origin" not in other.headers


def test_actual_requests_carry_the_origin_even_when_refused(app, ehr):
    """A browser client must be able to read the 401 too; the header never opens the data."""
    client = app.test_client()
    ok = client.get(DISCOVERY, headers={"Origin": ORIGIN, **bearer(ehr.token("http://localhost" + DISCOVERY))})
    assert ok.status_code == 200 and ok.headers["Access-Control-Allow-Origin"] == ORIGIN
    refused = client.get(DISCOVERY, headers={"Origin": ORIGIN})
    assert refused.status_code == 401 and refused.data == b""
    assert refused.headers["Access-Control-Allow-Origin"] == ORIGIN


def test_no_cors_by_default(tmp_path):
    app = new_app(Settings(**SERVING, database_url=f"sqlite:///{tmp_path}/a.db"))
    r = preflight(app, SERVICE, origin="https://x.example")
    assert "Access-Control-Allow-Origin" not in r.headers
    assert "Access-Control-Allow-Headers" not in r.headers


def test_any_origin_in_dev_mode(tmp_path):
    app = new_app(Settings(database_url=f"sqlite:///{tmp_path}/b.db", dev=True, auth_enabled=False))
    r = preflight(app, SERVICE, origin="https://x.example")
    assert r.headers["Access-Control-Allow-Origin"] in ("*", "https://x.example")
    assert "authorization" in r.headers["Access-Control-Allow-Headers"].lower()


def test_health_endpoints_not_cross_origin(app):
    r = app.test_client().get("/healthz", headers={"Origin": ORIGIN})
    assert r.status_code == 200 and "Access-Control-Allow-Origin" not in r.headers


@pytest.mark.parametrize("origin", [
    "not-a-url", "ehr.example.org", "ftp://ehr.example.org", "https://", "https://ehr.example.org/",
    "https://ehr.example.org/app", "https://ehr.example.org?x=1", "https://ehr.example.org#top",
    "https://user@ehr.example.org", "https://ehr.example.org:99999", "https://ehr.example.org:port",
    "*", "https://*.example.org", "https://ehr.example.(org|com)", "https://ehr_example.org",
])
def test_a_configured_origin_that_no_browser_sends_stops_start_up(origin):
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({"NERVE_CDS_CORS_ORIGINS": f"{ORIGIN},{origin}"})
    assert str(caught.value) == (f"NERVE_CDS_CORS_ORIGINS: '{origin}' is not an origin like "
                                 "https://ehr.example.org[:port] (no path, no '*')")


def test_origins_with_ports_and_address_literals_are_accepted(tmp_path):
    origins = ("http://localhost:3000", "https://10.0.0.7:8443", "http://[::1]:8080", "HTTPS://EHR.Example.org")
    settings = Settings.from_env({"NERVE_CDS_CORS_ORIGINS": ", ".join(origins)}, database_url=f"sqlite:///{tmp_path}/c.db",
                                 **SERVING)
    assert settings.cors_origins == origins
    r = preflight(new_app(settings), SERVICE, origin="http://localhost:3000")
    assert r.headers["Access-Control-Allow-Origin"] == "http://localhost:3000"
