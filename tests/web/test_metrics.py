"""/metrics: off unless the operator sets a token, then only for that Bearer token; it counts
hook calls per hook and status, cards per topic and indicator, and FHIR keys that could not be
had. A caller cannot add label values of its own (an unknown service id is "unknown")."""
from __future__ import annotations

from cds_service.core.settings import Settings
from tests.helpers.apps import new_app
from tests.helpers.calls import CES, SERVICE, hook
from tests.helpers.fault_servers import closed_port_url

TOKEN = "scrape-me-0nly"


def app_with(tmp_path, **changes):
    return new_app(Settings(dev=True, auth_enabled=False, database_url=f"sqlite:///{tmp_path}/fb.db", **changes))


def value(text: str, series: str) -> float:
    line = next((x for x in text.splitlines() if x.startswith(series + " ")), None)
    return float(line.rsplit(" ", 1)[1]) if line else 0.0


def test_metrics_are_off_without_a_token(tmp_path):
    response = app_with(tmp_path).test_client().get("/metrics", headers={"Authorization": "Bearer anything"})
    assert response.status_code == 404 and b"nerve_cds" not in response.data


def test_metrics_need_the_operators_token(tmp_path):
    client = app_with(tmp_path, metrics_token=TOKEN).test_client()
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer not-it"}).status_code == 401
    ok = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert ok.status_code == 200 and ok.mimetype == "text/plain"


def test_calls_cards_and_fhir_failures_are_counted(tmp_path):
    client = app_with(tmp_path, metrics_token=TOKEN).test_client()

    def scrape() -> str:
        return client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).get_data(as_text=True)

    calls_200 = 'nerve_cds_hook_calls_total{hook="patient-view",service="nerve-cds-patient-view",status="200"}'
    calls_412 = 'nerve_cds_hook_calls_total{hook="patient-view",service="nerve-cds-patient-view",status="412"}'
    unknown = 'nerve_cds_hook_calls_total{hook="unknown",service="unknown",status="404"}'
    ces = 'nerve_cds_cards_total{indicator="critical",topic="cauda-equina-emergency"}'
    conditions = 'nerve_cds_fhir_failures_total{key="conditions"}'
    latency = 'nerve_cds_hook_call_seconds_count{hook="patient-view",status="200"}'
    before = scrape()

    assert client.post(SERVICE, json=hook(prefetch=CES)).status_code == 200
    unreachable = hook(fhirServer=closed_port_url())
    del unreachable["prefetch"]
    assert client.post(SERVICE, json=unreachable).status_code == 412
    assert client.post("/cds-services/made-up-service-id", json=hook()).status_code == 404
    after = scrape()

    for series in (calls_200, calls_412, unknown, ces, conditions, latency):
        assert value(after, series) == value(before, series) + 1, series
    assert "made-up-service-id" not in after
