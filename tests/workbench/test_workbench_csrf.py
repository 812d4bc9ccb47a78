"""Cross-site request forgery: every workbench POST needs a token signed for the browser's own
SameSite cookie and an Origin (or Referer) of the workbench itself; the page carries the token,
so the analyst's own form works and another site's does not."""
from __future__ import annotations

import base64
import json

import pytest

from cds_service.core.settings import Settings
from tests.helpers.apps import SERVING, new_app
from tests.helpers.paths import FIXTURES
from tests.helpers.workbench import dev_settings, form_token

S03_REQUEST = json.dumps({**json.loads((FIXTURES / "fhir" / "s03-classic-cauda-equina" / "request.json").read_text()),
                          "prefetch": {"patient": None}})
OURS = "http://localhost"


def paste(client, **form):
    return client.post("/workbench/explain", data={"request": S03_REQUEST, **form}, headers={"Origin": OURS})


def explained(response) -> bool:
    return response.status_code == 200 and "judged at" in response.get_data(as_text=True)


@pytest.fixture
def client(tmp_path):
    return new_app(dev_settings(tmp_path)).test_client()


def test_the_page_carries_the_token_and_sets_a_strict_cookie(client):
    response = client.get("/workbench/")
    assert 'type="hidden" name="csrf_token" value="' in response.get_data(as_text=True)
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("nerve_cds_csrf=") and "SameSite=Strict" in cookie and "HttpOnly" in cookie
    assert "Path=/workbench" in cookie and "Secure" not in cookie



def test_over_https_the_cookie_is_secure(tmp_path):
    client = new_app(dev_settings(tmp_path)).test_client()
    assert "Secure" in client.get("/workbench/", base_url="https://localhost").headers["Set-Cookie"]


def test_with_the_token_the_paste_form_works(client):
    assert explained(paste(client, csrf_token=form_token(client)))


def test_without_the_token_a_post_is_refused(client):
    form_token(client)  # the browser has its cookie; the forged form has no token
    refused = paste(client)
    assert refused.status_code == 403 and "Cross-site request refused" in refused.get_data(as_text=True)
    assert paste(client, csrf_token="").status_code == 403
    assert paste(client, csrf_token="not-a-signed-token").status_code == 403


def test_from_another_site_even_a_valid_token_is_refused(client):
    token = form_token(client)
    for headers in ({"Origin": "https://evil.example"}, {"Origin": "null"}, {"Origin": "http://localhost.evil.example"},
                    {"Referer": "https://evil.example/page"}):
        response = client.post("/workbench/explain", data={"request": S03_REQUEST, "csrf_token": token}, headers=headers)
        assert response.status_code == 403 and "another site" in response.get_data(as_text=True), headers
    same_site_referer = client.post("/workbench/explain", data={"request": S03_REQUEST, "csrf_token": token},
                                    headers={"Referer": "http://localhost/workbench/"})
    assert explained(same_site_referer)


def test_a_token_is_bound_to_its_browsers_cookie_and_its_app(tmp_path):
    app = new_app(dev_settings(tmp_path))
    analyst, attacker = app.test_client(), app.test_client()
    attackers_token = form_token(attacker)
    form_token(analyst)
    assert paste(analyst, csrf_token=attackers_token).status_code == 403  # a token of the attacker's own session
    cookieless = app.test_client()
    assert paste(cookieless, csrf_token=attackers_token).status_code == 403  # SameSite: no cookie on a cross-site post
    other_app = new_app(dev_settings(tmp_path)).test_client()
    form_token(other_app)
    other_app.set_cookie("nerve_cds_csrf", analyst.get_cookie("nerve_cds_csrf", path="/workbench").value, path="/workbench")
    assert paste(other_app, csrf_token=form_token(analyst)).status_code == 403  # signed with another key


def test_with_the_workbench_token_replicas_share_the_key_and_basic_auth_needs_the_csrf_token_too(tmp_path):
    settings = Settings(**SERVING, database_url=f"sqlite:///{tmp_path}/fb.db", workbench_enabled=True,
                        workbench_token="s3cret-token", log_level="WARNING")
    basic = {"Authorization": "Basic " + base64.b64encode(b"analyst:s3cret-token").decode()}
    one, two = new_app(settings).test_client(), new_app(settings).test_client()
    token = form_token(one, **basic)
    two.set_cookie("nerve_cds_csrf", one.get_cookie("nerve_cds_csrf", path="/workbench").value, path="/workbench")
    form = {"request": S03_REQUEST}
    assert two.post("/workbench/explain", data=form, headers={**basic, "Origin": OURS}).status_code == 403
    assert explained(two.post("/workbench/explain", data={**form, "csrf_token": token}, headers={**basic, "Origin": OURS}))


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
def test_no_other_unsafe_method_is_served(client, method):
    for path in ("/workbench/", "/workbench/explain", "/workbench/diff", "/workbench/feedback"):
        assert 400 <= client.open(path, method=method, data={"request": S03_REQUEST}).status_code < 500
