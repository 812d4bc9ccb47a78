"""The workbench pages: off unless enabled, their own credential, never a CDS client's JWT;
safe Markdown; the library reloaded on edit in dev mode, a bad edit shown, not a crash."""
from __future__ import annotations

import base64
import shutil

import pytest

from cds_service.core.settings import Settings
from cds_service.web.app import create_app
from cds_service.workbench.markdown import to_html
from tests.helpers.apps import SERVING, new_app
from tests.helpers.paths import CARDS
from tests.helpers.tokens import Issuer, bearer, write_trust_file
from tests.helpers.workbench import dev_settings, form_token

PAGE = "/workbench/explain/s03-classic-cauda-equina"


def production(tmp_path, **overrides):
    ehr = Issuer("https://ehr.example.org")
    values = dict(**SERVING, database_url=f"sqlite:///{tmp_path}/fb.db", trust_file=write_trust_file(tmp_path, {"issuer": ehr}),
                  workbench_enabled=True, workbench_token="s3cret-token", log_level="WARNING")
    values.update(overrides)
    return new_app(Settings(**values)), ehr


def basic(password, user="analyst"):
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def test_off_unless_enabled(tmp_path):
    client = new_app(dev_settings(tmp_path, workbench_enabled=False)).test_client()
    assert client.get("/workbench/").status_code == 404
    assert Settings.from_env({}).workbench_enabled is False


def test_needs_its_own_token_and_a_cds_client_jwt_does_not_open_it(tmp_path):
    app, ehr = production(tmp_path)
    client = app.test_client()
    refused = client.get(PAGE)
    assert refused.status_code == 401 and refused.headers["WWW-Authenticate"].startswith("Basic")
    assert client.get(PAGE, headers=basic("wrong")).status_code == 401
    assert client.get(PAGE, headers=bearer("wrong")).status_code == 401
    # the same JWT opens the CDS endpoints and not the workbench
    jwt_for_discovery = ehr.token("http://localhost/cds-services")
    assert client.get("/cds-services", headers=bearer(jwt_for_discovery)).status_code == 200
    for path in (PAGE, "/workbench/", "/workbench/feedback"):
        token = ehr.token(f"http://localhost{path}")
        assert client.get(path, headers=bearer(token)).status_code == 401
    opened = client.get(PAGE, headers=basic("s3cret-token"))
    assert opened.status_code == 200 and "CES-1" in opened.get_data(as_text=True)
    assert opened.headers["Cache-Control"] == "no-store"
    assert client.get(PAGE, headers=bearer("s3cret-token")).status_code == 200


def test_closed_without_a_token_outside_dev_mode(tmp_path):
    app, _ = production(tmp_path, workbench_token=None)
    response = app.test_client().get(PAGE)
    assert response.status_code == 403 and b"NERVE_CDS_WORKBENCH_TOKEN" in response.data


def test_dev_mode_is_open_on_loopback_only(tmp_path):
    client = new_app(dev_settings(tmp_path)).test_client()
    assert client.get(PAGE).status_code == 200
    remote = client.get(PAGE, environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert remote.status_code == 403


def test_the_page_shows_the_card_beside_its_explanation(tmp_path):
    client = new_app(dev_settings(tmp_path)).test_client()
    page = client.get(PAGE).get_data(as_text=True)
    assert 'class="card critical"' in page and "<strong>Refer immediately</strong>" in page
    assert 'data-rule="CES-1" data-outcome="fired"' in page
    assert "Observation/s03-classic-cauda-equina-o4" in page and "http://snomed.info/sct|267064002" in page
    assert 'data-rule="CES-2" data-outcome="suppressed"' in page
    assert client.get("/workbench/explain/s99-nope").status_code == 404
    pasted = client.post("/workbench/explain", data={"request": "{not json", "csrf_token": form_token(client)})
    assert pasted.status_code == 400 and "not valid JSON" in pasted.get_data(as_text=True)


def test_markdown_is_rendered_safely():
    html = to_html('**bold** <script>alert(1)</script> [x](javascript:alert(1)) <img src=x onerror=alert(1)>')
    assert "<strong>bold</strong>" in html
    assert "<script>" not in html and "<img" not in html and 'href="javascript:' not in html
    assert "&lt;script&gt;" in html


def test_diff_page_shows_the_matrix_and_the_reasons(tmp_path):
    cards = tmp_path / "cards"
    shutil.copytree(CARDS, cards)
    text = (cards / "settings.yaml").read_text()
    head, _, tail = text.partition("  ces_recent_days:\n")
    (cards / "settings.yaml").write_text(head + "  ces_recent_days:\n" + tail.replace("value: 14", "value: 1", 1))
    client = new_app(dev_settings(tmp_path, workbench_libraries=(tmp_path,))).test_client()
    page = client.get("/workbench/diff", query_string={"candidate": str(cards)}).get_data(as_text=True)
    assert 'data-case="s04-painless-saddle-and-bowel"' in page and "− loses cauda-equina-emergency" in page
    assert "[ces_recent_days=14 -&gt; ces_recent_days=1]" in page and 'id="matrix"' in page
    bad = client.get("/workbench/diff", query_string={"candidate": str(tmp_path)})
    assert bad.status_code == 400 and "not a card library folder" in bad.get_data(as_text=True)


def test_dev_mode_reloads_edited_cards_and_shows_a_bad_edit(tmp_path):
    cards = tmp_path / "cards"
    shutil.copytree(CARDS, cards)
    client = create_app(dev_settings(tmp_path, cards_dir=cards)).test_client()
    assert "ces_recent_days</b> = 14" in client.get(PAGE).get_data(as_text=True)
    settings_file = cards / "settings.yaml"
    good = settings_file.read_text()
    settings_file.write_text(good.replace("thresholds:", "thresholds: [", 1))
    broken = client.get(PAGE)
    assert broken.status_code == 409
    assert "The card library does not load" in broken.get_data(as_text=True) and "settings.yaml" in broken.get_data(as_text=True)
    assert client.get("/cds-services").status_code == 200  # the hook service keeps its library
    head, _, tail = good.partition("  ces_recent_days:\n")
    settings_file.write_text(head + "  ces_recent_days:\n" + tail.replace("value: 14", "value: 21", 1))
    fixed = client.get(PAGE)
    assert fixed.status_code == 200 and "ces_recent_days</b> = 21" in fixed.get_data(as_text=True)


def test_a_dev_mode_reload_keeps_the_operators_canonical_base(tmp_path):
    cards = tmp_path / "cards"
    shutil.copytree(CARDS, cards)
    app = create_app(dev_settings(tmp_path, cards_dir=cards, canonical_base="https://cds.hospital.example/fhir"))
    settings_file = cards / "settings.yaml"
    head, _, tail = settings_file.read_text().partition("  ces_recent_days:\n")
    settings_file.write_text(head + "  ces_recent_days:\n" + tail.replace("value: 14", "value: 21", 1))
    assert "ces_recent_days</b> = 21" in app.test_client().get(PAGE).get_data(as_text=True)  # reloaded
    reloaded, _ = app.extensions["nerve_cds.workbench"].current()
    assert reloaded.presentation.topic_system.startswith("https://cds.hospital.example/fhir/")


def test_outside_dev_mode_the_library_is_not_reloaded(tmp_path):
    cards = tmp_path / "cards"
    shutil.copytree(CARDS, cards)
    app, _ = production(tmp_path, cards_dir=cards)
    (cards / "settings.yaml").write_text("thresholds: [")
    assert app.test_client().get(PAGE, headers=basic("s3cret-token")).status_code == 200


@pytest.mark.parametrize("header", ["Basic !!!", "Basic " + base64.b64encode(b"no-colon").decode(), "Token abc", "Bearer"])
def test_malformed_credentials_are_a_401(tmp_path, header):
    app, _ = production(tmp_path)
    assert app.test_client().get(PAGE, headers={"Authorization": header}).status_code == 401


def test_workbench_command_refuses_to_start_without_a_credential_outside_dev_mode():
    from click.testing import CliRunner

    from cds_service.tools.cli import main

    result = CliRunner().invoke(main, ["workbench", "--port", "1"], env={"NERVE_CDS_WORKBENCH_TOKEN": ""})
    assert result.exit_code == 2 and "NERVE_CDS_WORKBENCH_TOKEN" in result.output
    # with a token it needs the card key like `serve`; its base URL is the loopback URL it serves
    result = CliRunner().invoke(main, ["workbench", "--port", "1"], env={"NERVE_CDS_WORKBENCH_TOKEN": "s3cret-token"})
    assert result.exit_code == 2 and "NERVE_CDS_CARD_ID_KEY: required" in result.output
    assert "NERVE_CDS_PUBLIC_BASE_URL" not in result.output
