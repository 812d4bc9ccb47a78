"""Issue #19: a long record (3,500 vital signs) with new urinary retention and back pain with leg
pain gets its critical cauda equina card, both as prefetch through the real Flask app and by
fetching from the real sekmet-fhir server. Before: a 413 (body over 2 MB) and a 412 (more than 20
pages). The record is loaded into sekmet once for the module (about 3 s)."""
from __future__ import annotations

import json

import pytest
import requests

from cds_service.core.settings import Settings
from tests.helpers.apps import new_app, shipped_library
from tests.helpers.fault_servers import Misbehaving, RecordingProxy, reply, trickle
from tests.helpers.large_record import record, request, searchset, transactions

SERVICE_ID = "nerve-cds-patient-view"
SERVICE = f"/cds-services/{SERVICE_ID}"
PID = "long-record"
VITALS = 3500


@pytest.fixture(scope="module")
def resources():
    return record(PID, VITALS)


@pytest.fixture(scope="module")
def loaded(fhir_base_url, resources):
    for bundle in transactions(resources):
        r = requests.post(fhir_base_url, json=bundle, timeout=120)
        assert r.status_code == 200, r.text[:300]
    return fhir_base_url


def app(tmp_path, **more):
    return new_app(Settings(dev=True, auth_enabled=False, database_url=f"sqlite:///{tmp_path}/fb.db", **more)).test_client()


def call(fhir_server=None, prefetch=None) -> dict:
    return request(PID, fhir_server, prefetch)


def ces_card(response) -> dict:
    assert response.status_code == 200, response.data[:500]
    cards = response.get_json()["cards"]
    found = [c for c in cards if c["source"]["topic"]["code"] == "cauda-equina-emergency"]
    assert found and found[0]["indicator"] == "critical", [c["summary"] for c in cards]
    assert "Urinary retention" in found[0]["detail"]
    return found[0]


def whole_record_prefetch(resources: list[dict]) -> dict:
    """What an EHR sends for unfiltered searches: every Observation of the record in one key."""
    by_type = {t: [r for r in resources if r["resourceType"] == t] for t in ("Condition", "Observation")}
    keys = shipped_library().service(SERVICE_ID).prefetch
    prefetch: dict = {k: None for k in keys}
    prefetch.update(patient=resources[0], conditions=searchset(by_type["Condition"]),
                    observations=searchset(by_type["Observation"]))
    return prefetch


def test_the_whole_record_as_prefetch_gets_its_critical_card(tmp_path, resources):
    body = json.dumps(call(prefetch=whole_record_prefetch(resources)))
    assert len(body) > 2_000_000  # what the old 2 MB limit refused
    r = app(tmp_path).post(SERVICE, data=body, content_type="application/json")
    ces_card(r)


def test_the_templates_prefetch_is_small_and_gets_its_critical_card(tmp_path, loaded):
    """The EHR runs the discovery templates (here against sekmet) and sends what they find."""
    prefetch = {}
    for key, template in shipped_library().service(SERVICE_ID).prefetch.items():
        answer = requests.get(f"{loaded}/{template.replace('{{context.patientId}}', PID)}", timeout=30).json()
        assert not any(link.get("relation") == "next" for link in answer.get("link", [])), key
        prefetch[key] = answer if answer.get("resourceType") != "Bundle" or answer.get("entry") else None
    body = json.dumps(call(prefetch=prefetch))
    assert len(body) < 1_000_000, len(body)  # the 3,500 vital signs bring only their ~700 temperatures
    ces_card(app(tmp_path).post(SERVICE, data=body, content_type="application/json"))


def test_fetching_the_long_record_gets_its_critical_card_in_few_round_trips(tmp_path, loaded):
    with RecordingProxy(loaded) as proxy:
        r = app(tmp_path, fhir_allowlist=(proxy.base_url,)).post(SERVICE, json=call(proxy.base_url))
    ces_card(r)
    assert [s["method"] for s in proxy.seen] == ["POST"]  # one batch: every key fits its first page
    assert not any(c["source"]["topic"]["code"] == "record-incomplete" for c in r.get_json()["cards"])


def test_a_prefetch_over_the_body_limit_says_what_to_do(tmp_path, resources):
    r = app(tmp_path, max_body_bytes=1_000_000).post(SERVICE, json=call(prefetch=whole_record_prefetch(resources)))
    assert r.status_code == 413
    diagnostics = r.get_json()["issue"][0]["diagnostics"]
    assert "fhirServer" in diagnostics and "NERVE_CDS_MAX_BODY_BYTES" in diagnostics and "templates" in diagnostics


def test_a_long_record_cut_at_the_page_cap_keeps_its_red_flags_and_says_so(tmp_path, loaded, resources):
    """An EHR that pages the old unfiltered search: the pages read are advised on, and the cards
    say the rest was not read (never a silent "no advice")."""
    first = requests.get(f"{loaded}/Observation?patient={PID}&_count=100", timeout=30).json()
    prefetch = whole_record_prefetch(resources)
    prefetch["observations"] = first
    with RecordingProxy(loaded) as proxy:
        first["link"] = [{"relation": "next", "url": link["url"].replace(loaded, proxy.base_url)}
                         for link in first["link"] if link["relation"] == "next"]
        r = app(tmp_path, fhir_allowlist=(proxy.base_url,), fhir_max_pages=3).post(SERVICE, json=call(proxy.base_url, prefetch))
    card = ces_card(r)  # the retention flag is on the first page
    assert "Part of the record was not read" in card["detail"]
    assert len(proxy.seen) == 2  # pages 2 and 3, then the cap
    topics = [c["source"]["topic"]["code"] for c in r.get_json()["cards"]]
    assert "record-incomplete" in topics


def test_a_page_past_the_deadline_keeps_the_pages_read_and_says_so(tmp_path, resources):
    """Time is a cap too: a next page that comes too slowly ends the paging, not the advice."""
    first = searchset([r for r in resources if r["resourceType"] == "Observation"][:100])
    prefetch = whole_record_prefetch(resources)

    def respond(handler):
        if "page=2" in handler.path:
            return trickle(200, json.dumps(first).encode(), 0.05)(handler)
        return reply(200, json.dumps(first).encode())(handler)

    with Misbehaving(respond) as slow:
        first["link"] = [{"relation": "next", "url": f"{slow.base_url}/Observation?page=2"}]
        prefetch["observations"] = first
        r = app(tmp_path, fhir_allowlist=(slow.base_url,), fhir_deadline=1.0).post(SERVICE, json=call(slow.base_url, prefetch))
    card = ces_card(r)
    assert "Part of the record was not read" in card["detail"]


def test_a_first_page_sent_without_its_next_link_is_read_in_part_and_says_so(tmp_path, resources):
    """An EHR that sends only the first page: `total` says there is more, nothing says where."""
    observations = [r for r in resources if r["resourceType"] == "Observation"]
    prefetch = whole_record_prefetch(resources)
    prefetch["observations"] = {**searchset(observations[:100]), "total": len(observations)}
    r = app(tmp_path).post(SERVICE, json=call(prefetch=prefetch))
    card = ces_card(r)
    assert "Part of the record was not read" in card["detail"]
    complete = whole_record_prefetch(resources)
    complete["observations"] = searchset(observations[:100])  # total 100: nothing left out
    r = app(tmp_path).post(SERVICE, json=call(prefetch=complete))
    assert "record-incomplete" not in {c["source"]["topic"]["code"] for c in r.get_json()["cards"]}
