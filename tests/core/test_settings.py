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
