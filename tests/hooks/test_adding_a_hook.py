"""The walkthrough in docs/architecture.md, done for real: a new hook (encounter-start) needs one
registry entry, a service in cards/services.yaml and a rule that names it; nothing else."""
from __future__ import annotations

import shutil
import uuid

import pytest
import yaml

from cds_service import create_app
from cds_service.core.settings import Settings
from cds_service.hooks.contexts import PatientViewContext
from cds_service.hooks.registry import HOOKS, Hook
from cds_service.library.loader import LibraryError, load_library
from tests.helpers.workbench import hook_request


@pytest.fixture
def encounter_start():
    HOOKS["encounter-start"] = Hook("encounter-start", PatientViewContext)
    try:
        yield
    finally:
        del HOOKS["encounter-start"]


def test_a_new_hook_is_a_registry_entry_a_service_and_a_rule(encounter_start, tmp_path):
    cards = tmp_path / "cards"
    shutil.copytree(Settings().cards_dir, cards)
    services = yaml.safe_load((cards / "services.yaml").read_text())
    patient_view = next(s for s in services["services"] if s["hook"] == "patient-view")
    services["services"].append({**patient_view, "id": "nerve-cds-encounter-start", "hook": "encounter-start"})
    (cards / "services.yaml").write_text(yaml.safe_dump(services, sort_keys=False))
    rules_file = cards / "rules" / "cauda-equina.yaml"
    rules = yaml.safe_load(rules_file.read_text())
    rules["rules"][0]["hooks"].append("encounter-start")
    rules_file.write_text(yaml.safe_dump(rules, sort_keys=False))

    client = create_app(Settings(dev=True, auth_enabled=False, cards_dir=cards,
                                 database_url=f"sqlite:///{tmp_path}/fb.db")).test_client()
    discovered = {s["id"]: s["hook"] for s in client.get("/cds-services").get_json()["services"]}
    assert discovered["nerve-cds-encounter-start"] == "encounter-start"

    _, body = hook_request("s03-classic-cauda-equina", {"services": [patient_view]})
    body.update(hook="encounter-start", hookInstance=str(uuid.uuid4()))
    response = client.post("/cds-services/nerve-cds-encounter-start", json=body)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert [c["source"]["topic"]["code"] for c in response.get_json()["cards"]] == ["cauda-equina-emergency"]


def test_a_rule_naming_an_unregistered_hook_is_refused(tmp_path):
    cards = tmp_path / "cards"
    shutil.copytree(Settings().cards_dir, cards)
    rules_file = cards / "rules" / "cauda-equina.yaml"
    rules_file.write_text(rules_file.read_text().replace("hooks: [patient-view,", "hooks: [encounter-start, patient-view,", 1))
    with pytest.raises(LibraryError, match="unknown hook 'encounter-start'"):
        load_library(cards)
