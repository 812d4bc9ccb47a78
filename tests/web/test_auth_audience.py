"""The JWT `aud` is checked against the configured public base URL only: never against the Host
or X-Forwarded-* headers a caller chooses, so a token minted for another CDS service cannot be
replayed here by naming that service's host. Without a base URL an authenticating service does
not start."""
from __future__ import annotations

import pytest

from cds_service.core.settings import Settings, SettingsError
from tests.helpers.apps import SERVING, new_app
from tests.helpers.tokens import Issuer, bearer, write_trust_file

DISCOVERY = "/cds-services"
OURS = "https://cds.example.org"
THEIRS = "https://other-cds.example.net"
SPOOFED = {"Host": "other-cds.example.net", "X-Forwarded-Host": "other-cds.example.net", "X-Forwarded-Proto": "https"}


@pytest.fixture
def ehr():
    return Issuer("https://ehr.example.org")


def settings(tmp_path, ehr, **values):
    return {"database_url": f"sqlite:///{tmp_path}/fb.db", "trust_file": write_trust_file(tmp_path, {"issuer": ehr}),
            **values}


@pytest.mark.parametrize("mode", [{}, {"dev": True}, {"dev": True, "auth_enabled": True}])
def test_an_authenticating_service_does_not_start_without_a_public_base_url(tmp_path, ehr, mode):
    with pytest.raises(SettingsError) as refused:
        new_app(Settings(**settings(tmp_path, ehr, card_id_key=SERVING["card_id_key"], **mode)))
    message = str(refused.value)
    assert message.startswith("NERVE_CDS_PUBLIC_BASE_URL: required") and "\n" not in message


def test_dev_mode_without_authentication_needs_no_base_url(tmp_path, ehr):
    app = new_app(Settings(**settings(tmp_path, ehr, dev=True, auth_enabled=False)))
    assert app.test_client().get(DISCOVERY, headers=SPOOFED).status_code == 200


def test_a_token_for_another_service_replayed_with_its_host_is_refused(tmp_path, ehr):
    app = new_app(Settings(**settings(tmp_path, ehr, public_base_url=OURS, card_id_key=SERVING["card_id_key"])))
    client = app.test_client()
    theirs = client.get(DISCOVERY, headers={**bearer(ehr.token(THEIRS + DISCOVERY)), **SPOOFED})
    assert theirs.status_code == 401 and theirs.data == b""
    assert client.get(DISCOVERY, headers={**bearer(ehr.token(OURS + DISCOVERY)), **SPOOFED}).status_code == 200


def test_the_base_url_may_end_in_a_slash_and_carry_the_proxy_prefix(tmp_path, ehr):
    app = new_app(Settings(**settings(tmp_path, ehr, public_base_url=OURS + "/nerve/", card_id_key=SERVING["card_id_key"])))
    client = app.test_client()
    assert client.get(DISCOVERY, headers=bearer(ehr.token(OURS + "/nerve" + DISCOVERY))).status_code == 200
    assert client.get(DISCOVERY, headers=bearer(ehr.token(OURS + DISCOVERY))).status_code == 401


@pytest.mark.parametrize("url", ["cds.example.org", "https://cds.example.org/?x=1", "https://cds.example.org/#f",
                                 "ftp://cds.example.org", "https://user@cds.example.org"])
def test_a_base_url_that_can_never_equal_an_aud_is_refused(url):
    with pytest.raises(SettingsError, match="^NERVE_CDS_PUBLIC_BASE_URL: not a base URL like"):
        Settings.from_env({"NERVE_CDS_PUBLIC_BASE_URL": url})


def test_outside_dev_mode_a_card_id_key_is_required_and_never_echoed(tmp_path, ehr):
    with pytest.raises(SettingsError, match="^NERVE_CDS_CARD_ID_KEY: required outside dev mode"):
        new_app(Settings(**settings(tmp_path, ehr, public_base_url=OURS)))
    with pytest.raises(SettingsError, match="^NERVE_CDS_CARD_ID_KEY: must be at least 32 characters") as short:
        Settings.from_env({"NERVE_CDS_CARD_ID_KEY": "tiny-secret"})
    assert "tiny-secret" not in str(short.value)
