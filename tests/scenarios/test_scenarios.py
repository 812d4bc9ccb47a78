"""Golden tests: every scenario in fixtures/fhir through the real app, twice.

(a) with full prefetch, built by querying the real FHIR server as an EHR would (discovery's
templates, tokens substituted); (b) with no prefetch, so the service fetches from the server
itself. Both must give the same cards, and those cards must match the scenario's expectations.
"""
from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest
import requests

from cds_service.core.settings import Settings
from cds_service.data.scenarios import list_scenarios, load_scenario
from tests.helpers.apps import new_app, shipped_library
from tests.helpers.scenarios import ehr_prefetch

SETTINGS = Settings()
SCENARIOS = list_scenarios(SETTINGS.fixtures_dir)
TODAY = date.today()
TIER = {"critical": 2, "warning": 1, "info": 0}
# Topics whose every rule is routine advice: never beside a critical card (CLINICAL §6.12).
_RULES = shipped_library().rules
ROUTINE_TOPICS = {r.topic for r in _RULES} - {r.topic for r in _RULES if not r.routine}


@pytest.fixture(scope="module")
def app(fhir_base_url, tmp_path_factory):
    settings = Settings(
        dev=True,
        auth_enabled=False,
        database_url=f"sqlite:///{tmp_path_factory.mktemp('fb')}/feedback.db",
        fhir_allowlist=(fhir_base_url,),
    )
    return new_app(settings)


@pytest.fixture(scope="module")
def loaded(fhir_base_url):
    """Every scenario loaded once into the real FHIR server."""
    scenarios = {}
    for sid in SCENARIOS:
        scenario = load_scenario(SETTINGS.fixtures_dir, sid, TODAY)
        reply = requests.post(fhir_base_url, json=scenario.bundle, headers={"Content-Type": "application/fhir+json"}, timeout=30)
        assert reply.status_code == 200, f"{sid}: {reply.status_code} {reply.text[:300]}"
        scenarios[sid] = scenario
    return scenarios


def service_id(request):
    return f"nerve-cds-{request['hook']}"


def call(client, request):
    response = client.post(f"/cds-services/{service_id(request)}", json=request)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["cards"]


def shape(cards):
    return sorted((c["source"]["topic"]["code"], c["indicator"], c["summary"]) for c in cards)


@pytest.mark.parametrize("sid", SCENARIOS)
def test_scenario_both_ways(sid, app, loaded, fhir_base_url):
    scenario = loaded[sid]
    client = app.test_client()
    base = {**scenario.request, "hookInstance": str(uuid.uuid4()), "fhirServer": fhir_base_url}
    with_prefetch = call(client, {**base, "prefetch": ehr_prefetch(client, fhir_base_url, service_id(base), base["context"])})
    fetched = call(client, base)
    assert shape(with_prefetch) == shape(fetched), "prefetch and fetch paths disagree"

    fired = {c["source"]["topic"]["code"]: c["indicator"] for c in fetched}
    for item in scenario.expected["fire"]:
        assert fired.get(item["topic"]) == item["indicator"], f"expected {item}, got {fired}"
        card = next(c for c in fetched if c["source"]["topic"]["code"] == item["topic"])
        if "actions" in item:  # order hooks: the first suggestion's actions, in transaction order
            assert [a["type"] for a in card["suggestions"][0]["actions"]] == item["actions"]
        made = {c["code"] for s in card.get("suggestions", []) for a in s["actions"] if a["type"] == "create"
                for c in a["resource"]["code"]["coding"]}
        assert set(item.get("creates", [])) <= made, f"{item['topic']} suggests {made}"
        for words in item.get("details_include", []):
            assert words in card["detail"], f"{words!r} not in the {item['topic']} card"
        for words in item.get("details_exclude", []):
            assert words not in card["detail"], f"{words!r} in the {item['topic']} card"
    for topic in scenario.expected.get("must_not_fire", []):
        assert topic not in fired, f"{topic} must not fire; got {fired}"
    check_response_rules(fetched, scenario.expected)


EMERGENCY_REFERRAL = "306104004"  # SNOMED Referral to accident and emergency service (cards/orders.yaml)


def check_response_rules(cards, expected):
    """§6.12 for every scenario, and a scenario's own words and actions that must (not) appear."""
    tiers = [TIER[c["indicator"]] for c in cards]
    assert tiers == sorted(tiers, reverse=True), "most urgent cards first"
    topics = {c["source"]["topic"]["code"] for c in cards}
    if "critical" in {c["indicator"] for c in cards}:
        assert not topics & ROUTINE_TOPICS, f"routine cards beside a critical one: {topics & ROUTINE_TOPICS}"
    suggestions = [s for c in cards for s in c.get("suggestions", [])]
    actions = [a for s in suggestions for a in s["actions"]]
    for kind in expected.get("never_actions", []):
        assert kind not in [a["type"] for a in actions], f"no card may suggest a {kind}"
    shown = " ".join([c["summary"] for c in cards] + [s["label"] for s in suggestions]).lower()
    for words in expected.get("summaries_exclude", []):
        assert words.lower() not in shown, f"{words!r} in a summary or suggestion"
    for words in expected.get("summaries_include", []):
        assert words.lower() in shown, f"{words!r} in no summary or suggestion"
    created = {c["code"] for a in actions if a["type"] == "create" for c in a["resource"]["code"]["coding"]}
    assert not created & set(expected.get("created_codes_exclude", [])), f"suggested: {created}"
    for card in cards:  # issue #18: the critical CES card offers the emergency referral on every hook
        if card["source"]["topic"]["code"] == "cauda-equina-emergency" and card["indicator"] == "critical":
            referral = [c for c in cards if c is card or c["source"]["topic"]["code"] == "acute-neuromuscular-weakness"]
            offered = {c["code"] for r in referral for s in r.get("suggestions", []) for a in s["actions"]
                       if a["type"] == "create" for c in a["resource"]["code"]["coding"]}
            assert EMERGENCY_REFERRAL in offered, "no emergency referral beside the critical cauda equina card"


@pytest.mark.parametrize("sid", SCENARIOS)
def test_bundles_are_valid_r4(sid):
    from fhir.resources.R4B.bundle import Bundle

    scenario = load_scenario(SETTINGS.fixtures_dir, sid, TODAY)
    Bundle.model_validate(scenario.bundle)
    for entry in scenario.bundle["entry"]:
        assert any(ch.isalpha() for ch in entry["resource"]["id"]), "ids need a letter (HAPI)"
        assert sid.split("-")[0] in entry["resource"]["id"], "ids carry the scenario id"


def test_dates_are_anchored_to_today():
    sid = "s01-acute-lumbar-radiculopathy"
    one = load_scenario(SETTINGS.fixtures_dir, sid, date(2026, 1, 15))
    two = load_scenario(SETTINGS.fixtures_dir, sid, date(2030, 7, 1))

    def onset(s):
        cond = next(e["resource"] for e in s.bundle["entry"] if e["resource"]["resourceType"] == "Condition")
        return date.fromisoformat(cond["onsetDateTime"])

    assert date(2026, 1, 15) - onset(one) == timedelta(days=14)
    assert date(2030, 7, 1) - onset(two) == timedelta(days=14)
    assert "@T" not in str(one.bundle)


def test_prefix_rewrites_ids_and_references():
    scenario = load_scenario(SETTINGS.fixtures_dir, "s03-classic-cauda-equina", TODAY, prefix="ab-")
    assert scenario.patient_id == "ab-s03-classic-cauda-equina-patient"
    for entry in scenario.bundle["entry"]:
        resource = entry["resource"]
        assert resource["id"].startswith("ab-")
        assert entry["request"]["url"].split("/")[1].startswith("ab-")
        if "subject" in resource:
            assert resource["subject"]["reference"] == f"Patient/{scenario.patient_id}"
