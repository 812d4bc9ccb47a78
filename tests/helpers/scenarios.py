"""What an EHR would send for a scenario loaded into a FHIR server: shared by the golden tests."""
from __future__ import annotations

import uuid
from datetime import date

import requests

from cds_service.core.settings import Settings
from cds_service.data.prefetch import substitute
from cds_service.data.scenarios import Scenario, load_scenario
from cds_service.engine.advise import advise
from cds_service.library.loader import Library
from cds_service.workbench.cases import noon, scenario_case, service_for


def ehr_prefetch(client, fhir_base_url, service_id, context):
    """What an EHR sends: each discovery template run against its own FHIR server."""
    services = client.get("/cds-services").get_json()["services"]
    service = next(s for s in services if s["id"] == service_id)
    prefetch = {}
    for key, template in service["prefetch"].items():
        url = f"{fhir_base_url}/{substitute(template, context, context['userId'])}"
        body = requests.get(url, headers={"Accept": "application/fhir+json"}, timeout=30).json()
        while body.get("resourceType") == "Bundle" and any(l["relation"] == "next" for l in body.get("link", [])):
            nxt = next(l["url"] for l in body["link"] if l["relation"] == "next")
            page = requests.get(nxt, timeout=30).json()
            body = {**body, "entry": body.get("entry", []) + page.get("entry", []), "link": page.get("link", [])}
        if body.get("resourceType") == "Bundle":
            body = {k: v for k, v in body.items() if k != "link"}
            prefetch[key] = body if body.get("entry") else None
        else:
            prefetch[key] = body
    return prefetch


def fetched_replies(app, fhir_base_url: str, scenario_ids) -> dict:
    """scenario id -> the service's reply, each scenario loaded into the FHIR server and fetched."""
    out = {}
    for sid in scenario_ids:
        scenario = load_scenario(Settings().fixtures_dir, sid, date.today())
        loaded = requests.post(fhir_base_url, json=scenario.bundle, headers={"Content-Type": "application/fhir+json"}, timeout=30)
        assert loaded.status_code == 200, loaded.text[:300]
        request = {**scenario.request, "hookInstance": str(uuid.uuid4()), "fhirServer": fhir_base_url}
        response = app.test_client().post(f"/cds-services/nerve-cds-{request['hook']}", json=request)
        assert response.status_code == 200, response.get_json()
        out[sid] = response.get_json()
    return out


def card(replies: dict, sid: str, topic: str) -> dict:
    """The one card of `topic` in a scenario's reply."""
    (found,) = [c for c in replies[sid]["cards"] if c["source"]["topic"]["code"] == topic]
    return found


def orders(card_: dict) -> list:
    """(CPT or SNOMED codes, priority) of every resource each suggestion creates, per suggestion."""
    return [[({c["code"] for c in a["resource"]["code"]["coding"]}, a["resource"].get("priority"))
             for a in s["actions"] if a["type"] == "create"] for s in card_.get("suggestions", [])]


def scenario_advice(library: Library, scenario: Scenario, today: date) -> list[dict]:
    """The cards a scenario gets, its resources handed to the engine as if prefetched."""
    case = scenario_case(scenario)
    return advise(library, service_for(library, case.hook), case.context, case.data, noon(today)).cards
