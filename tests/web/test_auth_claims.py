"""JWT times: only finite numbers, and a token may live no longer than the configured maximum
(5 minutes by default, as CDS Hooks suggests). The log says why; the token is never in it."""
from __future__ import annotations

import logging
import time

import pytest

from cds_service.core.settings import Settings
from tests.helpers.apps import SERVING, new_app
from tests.helpers.tokens import Issuer, bearer, write_trust_file

DISCOVERY = "http://localhost/cds-services"


@pytest.fixture
def ehr():
    return Issuer("https://ehr.example.org")


def app_for(tmp_path, ehr, **settings):
    trust = write_trust_file(tmp_path, {"issuer": ehr})
    return new_app(Settings(**{**SERVING, "database_url": f"sqlite:///{tmp_path}/fb.db", "trust_file": trust, **settings}))


def refusal(app, token, caplog) -> str:
    caplog.clear()
    response = app.test_client().get("/cds-services", headers=bearer(token))
    assert response.status_code == 401 and response.data == b""
    (line,) = [r.getMessage() for r in caplog.records if r.name == "nerve_cds.auth"]
    assert token not in line and token.split(".")[2] not in line
    return line


class After(int):
    """Seconds after the token's iat."""


@pytest.mark.parametrize("claims, reason", [
    ({"exp": float("nan")}, "exp is not a finite number"),
    ({"iat": float("nan")}, "iat is not a finite number"),
    ({"exp": float("inf")}, "exp is not a finite number"),
    ({"iat": float("-inf")}, "iat is not a finite number"),
    ({"exp": 10 ** 400}, "exp is out of range"),
    ({"exp": 1e300, "iat": 1e300}, "iat in the future"),
    ({"exp": "in 300 s"}, "exp is not a number"),
    ({"iat": True}, "iat is not a number"),
    ({"nbf": float("nan")}, "nbf is not a finite number"),
    ({"exp": After(3600)}, "lifetime 3600 s over the 300 s maximum"),
    ({"exp": After(-10)}, "exp before iat"),
])
def test_times_that_are_not_real_or_too_long_are_refused_with_the_reason_logged(tmp_path, ehr, caplog, claims, reason):
    caplog.set_level(logging.WARNING, logger="nerve_cds.auth")
    now = int(time.time())
    claims = {name: now + value if isinstance(value, After) else value for name, value in claims.items()}
    assert reason in refusal(app_for(tmp_path, ehr), ehr.token(DISCOVERY, now=now, **claims), caplog)


def test_the_longest_lifetime_is_a_setting(tmp_path, ehr, caplog):
    caplog.set_level(logging.WARNING, logger="nerve_cds.auth")
    app, now = app_for(tmp_path, ehr, jwt_max_lifetime_seconds=900), int(time.time())
    assert app.test_client().get("/cds-services", headers=bearer(ehr.token(DISCOVERY, now=now, exp=now + 900))).status_code == 200
    assert "over the 900 s maximum" in refusal(app, ehr.token(DISCOVERY, now=now, exp=now + 901), caplog)
    assert Settings.from_env({"NERVE_CDS_JWT_MAX_LIFETIME_SECONDS": "120"}).jwt_max_lifetime_seconds == 120.0
