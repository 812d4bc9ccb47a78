"""The US Core medication scenarios (fixtures/fhir/u01-u03) beyond topic and indicator: which
IMG-2 wording and which PAMA rating the naproxen clinical-drug order earns, on a real FHIR server."""
from __future__ import annotations

import uuid
from datetime import date

import pytest
import requests

from cds_service.core.settings import Settings
from cds_service.data.scenarios import load_scenario
from tests.helpers.apps import new_app

SETTINGS = Settings()


@pytest.fixture(scope="module")
def client(fhir_base_url, tmp_path_factory):
    for sid in ("u01-naproxen-sciatica-mri-on-sign", "u02-naproxen-sciatica-8-weeks", "u03-old-naproxen-course-mri-on-sign"):
        bundle = load_scenario(SETTINGS.fixtures_dir, sid, date.today(), prefix="um-").bundle
        assert requests.post(fhir_base_url, json=bundle, timeout=30).status_code == 200
    settings = Settings(dev=True, auth_enabled=False, fhir_allowlist=(fhir_base_url,), pama_system_actions=True,
                        database_url=f"sqlite:///{tmp_path_factory.mktemp('um')}/feedback.db")
    return new_app(settings).test_client()


def call(client, fhir_base_url, sid):
    request = load_scenario(SETTINGS.fixtures_dir, sid, date.today(), prefix="um-").request
    body = {**request, "hookInstance": str(uuid.uuid4()), "fhirServer": fhir_base_url}
    response = client.post(f"/cds-services/nerve-cds-{request['hook']}", json=body)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def rating(payload):
    (action,) = payload["systemActions"]
    (ext,) = [e for e in action["resource"]["extension"] if e["url"].endswith("pama-rating")]
    return ext["valueCodeableConcept"]["coding"][0]["code"]


def test_referenced_naproxen_makes_the_8_week_mri_appropriate(client, fhir_base_url):
    payload = call(client, fhir_base_url, "u01-naproxen-sciatica-mri-on-sign")
    assert payload["cards"] == []
    assert rating(payload) == "appropriate"


def test_referenced_naproxen_counts_as_conservative_care_on_the_imaging_card(client, fhir_base_url):
    cards = call(client, fhir_base_url, "u02-naproxen-sciatica-8-weeks")["cards"]
    (card,) = [c for c in cards if c["source"]["topic"]["code"] == "radiculopathy-imaging"]
    assert card["summary"].startswith("Radicular symptoms for 6+ weeks despite conservative care")
    assert "Sciatica" in card["detail"] or "sciatica" in card["detail"]


def test_a_course_outside_the_window_is_no_conservative_care(client, fhir_base_url):
    payload = call(client, fhir_base_url, "u03-old-naproxen-course-mri-on-sign")
    assert [c["source"]["topic"]["code"] for c in payload["cards"]] == ["imaging-not-indicated"]
    assert rating(payload) == "not-appropriate"
