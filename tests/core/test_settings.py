"""Settings read from the environment: every value is checked, and a refusal names the variable."""
from __future__ import annotations

import shutil

import pytest

from cds_service.core.settings import Settings, SettingsError


def refusal(env: dict[str, str], **overrides) -> str:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env(env, **overrides)
    return str(caught.value)


def test_an_unknown_variable_lists_the_variables_an_operator_can_set():
    message = refusal({"NERVE_CDS_DEVV": "1"})
    assert message.startswith("NERVE_CDS_DEVV: not a nerve-cds setting (known: NERVE_CDS_AUTH_ENABLED, ")
    known = message.partition("(known: ")[2].rstrip(")").split(", ")
    assert known == sorted("NERVE_CDS_" + field.upper() for field in Settings.model_fields)


@pytest.mark.parametrize("variable, override", [("NERVE_CDS_DEV", {"dev": True}),
                                                ("NERVE_CDS_AUTH_ENABLED", {"auth_enabled": False})])
def test_an_invalid_variable_is_refused_even_when_a_flag_overrides_it(variable, override):
    assert refusal({variable: "ture"}, **override).startswith(f"{variable}: Input should be a valid boolean")


def test_a_valid_variable_gives_way_to_a_flag():
    settings = Settings.from_env({"NERVE_CDS_DEV": "false", "NERVE_CDS_AUTH_ENABLED": "true"}, dev=True)
    assert settings.dev and settings.auth_enabled and settings.authenticate


def test_a_cards_dir_that_is_not_a_card_library_names_variable_and_folder(tmp_path):
    assert refusal({"NERVE_CDS_CARDS_DIR": "/nonexistent"}) == \
        "NERVE_CDS_CARDS_DIR: /nonexistent is not a card library folder (no services.yaml)"
    assert "not a card library folder" in refusal({"NERVE_CDS_CARDS_DIR": str(tmp_path)})
    (tmp_path / "services.yaml").mkdir()
    assert "not a card library folder" in refusal({"NERVE_CDS_CARDS_DIR": str(tmp_path)})
    with pytest.raises(ValueError, match="not a card library folder"):
        Settings(cards_dir=tmp_path / "missing")


def test_a_copied_card_library_is_accepted(tmp_path):
    shutil.copytree(Settings().cards_dir, tmp_path / "cards")
    assert Settings.from_env({"NERVE_CDS_CARDS_DIR": str(tmp_path / "cards")}).cards_dir == tmp_path / "cards"


@pytest.mark.parametrize("variable, value, words", [
    ("NERVE_CDS_FHIR_ALLOWLIST", "not-a-url", ["entry 1 is not a FHIR base URL", "not an absolute URL"]),
    ("NERVE_CDS_FHIR_ALLOWLIST", "https://ehr.example.org/fhir, https://ehr\\@evil.example/fhir", ["entry 2", "backslash"]),
    ("NERVE_CDS_FHIR_ALLOWLIST", "https://u:pw@ehr.example.org/fhir", ["entry 1", "user info"]),
    ("NERVE_CDS_FHIR_ALLOWLIST", "https://ehr.example.org:99999/fhir", ["entry 1", "port"]),
    ("NERVE_CDS_FHIR_ALLOWLIST", "https://ehr.example.org/fhir?tenant=1", ["entry 1", "no query"]),
    ("NERVE_CDS_PUBLIC_BASE_URL", "not-a-url", ["not a base URL", "not an absolute URL"]),
    ("NERVE_CDS_PUBLIC_BASE_URL", "https://cds.example.org/nerve#x", ["not a base URL", "fragment"]),
])
def test_a_url_setting_is_read_by_the_outbound_url_parser(variable, value, words):
    message = refusal({variable: value})
    assert message.startswith(f"{variable}: ") and "\n" not in message
    assert all(word in message for word in words), message
    assert "pw" not in message and "evil" not in message  # the value itself is never echoed


def test_url_settings_that_parse_are_kept_as_written_but_the_base_url_loses_its_trailing_slash():
    settings = Settings.from_env({"NERVE_CDS_FHIR_ALLOWLIST": "https://EHR.example.org/fhir, http://hapi:8080/fhir",
                                  "NERVE_CDS_PUBLIC_BASE_URL": "https://cds.example.org/nerve/"})
    assert settings.fhir_allowlist == ("https://EHR.example.org/fhir", "http://hapi:8080/fhir")
    assert settings.public_base_url == "https://cds.example.org/nerve"
    assert Settings.from_env({}).public_base_url == ""
