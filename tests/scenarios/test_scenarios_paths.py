"""Each scenario's two data paths, watched on the wire: with the EHR's full prefetch the service
must not call the FHIR server at all; without prefetch it fetches everything in one round trip.
Otherwise the golden tests' "both paths agree" could hold only because both paths fetched."""
from __future__ import annotations

import uuid
from datetime import date

import pytest
import requests

from cds_service.core.settings import Settings
from cds_service.data.prefetch import substitute
from cds_service.data.scenarios import list_scenarios, load_scenario
from tests.helpers.apps import new_app
from tests.helpers.fault_servers import RecordingProxy

SETTINGS = Settings()
SCENARIOS = list_scenarios(SETTINGS.fixtures_dir)


@pytest.fixture(scope="module")
def proxy(fhir_base_url):
    with RecordingProxy(fhir_base_url) as recording:
        yield recording


@pytest.fixture(scope="module")
def client(fhir_base_url, proxy, tmp_path_factory):
    for sid in SCENARIOS:
        bundle = load_scenario(SETTINGS.fixtures_dir, sid, date.today()).bundle
        reply = requests.post(fhir_base_url, json=bundle, headers={"Content-Type": "application/fhir+json"}, timeout=30)
        assert reply.status_code == 200, reply.text[:300]
    app = new_app(Settings(dev=True, auth_enabled=False, fhir_allowlist=(fhir_base_url, proxy.base_url),
                           database_url=f"sqlite:///{tmp_path_factory.mktemp('paths')}/fb.db"))
    return app.test_client()


def full_prefetch(client, fhir_base_url, service_id, context):
    """Every discovery template answered from the FHIR server (searches here fit on one page)."""
    (service,) = [s for s in client.get("/cds-services").get_json()["services"] if s["id"] == service_id]
    prefetch = {}
    for key, template in service["prefetch"].items():
        body = requests.get(f"{fhir_base_url}/{substitute(template, context, context['userId'])}",
                            headers={"Accept": "application/fhir+json"}, timeout=30).json()
        assert not any(link["relation"] == "next" for link in body.get("link", [])), "one page expected"
        if body["resourceType"] == "Bundle":
            body = {k: v for k, v in body.items() if k != "link"} if body.get("entry") else None
        prefetch[key] = body
    return prefetch


def topics(response):
    assert response.status_code == 200, response.get_json()
    return sorted((c["source"]["topic"]["code"], c["indicator"]) for c in response.get_json()["cards"])


@pytest.mark.parametrize("sid", SCENARIOS)
def test_prefetch_path_never_calls_the_server_and_fetch_path_calls_it_once(sid, client, proxy, fhir_base_url):
    scenario = load_scenario(SETTINGS.fixtures_dir, sid, date.today())
    service_id = f"nerve-cds-{scenario.request['hook']}"
    base = {**scenario.request, "fhirServer": proxy.base_url}
    prefetch = full_prefetch(client, fhir_base_url, service_id, base["context"])

    proxy.seen.clear()
    with_prefetch = client.post(f"/cds-services/{service_id}", json={**base, "hookInstance": str(uuid.uuid4()), "prefetch": prefetch})
    assert proxy.seen == [], "all prefetch was sent; nothing to fetch"

    fetched = client.post(f"/cds-services/{service_id}", json={**base, "hookInstance": str(uuid.uuid4())})
    assert [r["method"] for r in proxy.seen] == ["POST"], f"one batch round trip, saw {[r['path'] for r in proxy.seen]}"

    assert topics(with_prefetch) == topics(fetched)
    assert {item["topic"] for item in scenario.expected["fire"]} <= {t for t, _ in topics(fetched)}
