"""A temperature or inflammatory marker that is in the record but cannot be read (a number sent as
text, a word, a unit the library cannot convert) is neither fever nor normal: the response says so
in one line, even when no other card fires (§6.14). Units older interfaces send as free text, and
UCUM kelvin, are converted. Through the real app, as prefetch."""
from __future__ import annotations

import pytest

from cds_service.core.settings import Settings
from tests.helpers.apps import new_app
from tests.helpers.calls import NULL_PREFETCH
from tests.helpers.findings import ICD, LOINC, NOW, PATIENT_ID, condition, observation, patient, searchset

DQ, SERIOUS = "data-quality", "serious-spinal-pathology"


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    db = tmp_path_factory.mktemp("measured") / "fb.db"
    return new_app(Settings(dev=True, auth_enabled=False, database_url=f"sqlite:///{db}", log_level="CRITICAL"),
                   clock=lambda: NOW).test_client()


def call(client, temperature: dict) -> dict[str, dict]:
    back_pain = condition("lbp", (ICD, "M54.50"), onsetDateTime=(NOW.date().replace(day=10)).isoformat())
    prefetch = {**NULL_PREFETCH, "patient": patient(), "conditions": searchset(back_pain),
                "observations": searchset(), "measurements": searchset(temperature)}
    body = {"hook": "patient-view", "hookInstance": "3c1e1d1e-0d6a-4c53-9a0b-6b3c2f8f1a01",
            "context": {"userId": "Practitioner/a", "patientId": PATIENT_ID}, "prefetch": prefetch}
    reply = client.post("/cds-services/nerve-cds-patient-view", json=body)
    assert reply.status_code == 200, reply.data[:300]
    return {c["source"]["topic"]["code"]: c for c in reply.get_json()["cards"]}


def temperature(**value) -> dict:
    return observation("temp", (LOINC, "8310-5"), days=0, **value)


@pytest.mark.parametrize("value", [
    {"valueString": "39.4"},
    {"valueString": "hot to touch"},
    {"valueQuantity": {"value": 39.4, "unit": "furlongs"}},
])
def test_a_temperature_that_cannot_be_read_is_said_never_passed_over(client, value):
    cards = call(client, temperature(**value))
    assert DQ in cards and SERIOUS not in cards
    assert "Measured fever" in cards[DQ]["detail"]
    assert all("could not be read" in c["detail"].lower() for c in cards.values())


@pytest.mark.parametrize("value, unit", [(39.4, "deg C"), (102.9, "deg F"), (312.6, "K"), (39.4, "Cel")])
def test_a_fever_in_units_older_interfaces_send_is_fever(client, value, unit):
    cards = call(client, temperature(valueQuantity={"value": value, "unit": unit}))
    assert SERIOUS in cards and DQ not in cards


def test_a_normal_temperature_read_is_neither_fever_nor_unreadable(client):
    cards = call(client, temperature(valueQuantity={"value": 36.9, "unit": "Cel"}))
    assert SERIOUS not in cards and DQ not in cards
