"""Order stewardship details the golden scenarios do not show: PAMA ratings and draft updates."""
from __future__ import annotations

import uuid
from datetime import date

import pytest

from cds_service.core.settings import Settings
from cds_service.data.scenarios import list_scenarios, load_scenario
from cds_service.engine.pama import RATING_EXTENSION, RATING_SYSTEM
from tests.helpers.apps import new_app, shipped_library
from tests.helpers.scenarios import scenario_advice

SETTINGS = Settings()


def run(tmp_path, sid, pama):
    scenario = load_scenario(SETTINGS.fixtures_dir, sid, date.today())
    app = new_app(Settings(dev=True, auth_enabled=False, database_url=f"sqlite:///{tmp_path}/fb.db", pama_system_actions=pama))
    services = {s["hook"]: s for s in app.test_client().get("/cds-services").get_json()["services"]}
    keys = services[scenario.request["hook"]]["prefetch"]
    resources = [e["resource"] for e in scenario.bundle["entry"]]
    by_type = {}
    for r in resources:
        by_type.setdefault(r["resourceType"], []).append(r)
    prefetch = {}
    for key, template in keys.items():
        kind = template.split("?")[0].split("/")[0]
        found = by_type.get(kind, [])
        if kind == "Patient":
            prefetch[key] = found[0] if found else None
        else:
            prefetch[key] = {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": r} for r in found]} if found else None
    body = {**scenario.request, "hookInstance": str(uuid.uuid4()), "prefetch": prefetch}
    r = app.test_client().post(f"/cds-services/nerve-cds-{scenario.request['hook']}", json=body)
    assert r.status_code == 200, r.get_json()
    return scenario, r.get_json()


def rating(action):
    ext = next(e for e in action["resource"]["extension"] if e["url"] == RATING_EXTENSION)
    coding = ext["valueCodeableConcept"]["coding"][0]
    assert coding["system"] == RATING_SYSTEM
    return coding["code"]


@pytest.mark.parametrize("sid, expected", [
    ("o01-mri-for-acute-back-pain", "not-appropriate"),
    ("o11-indicated-mri-no-warning", "appropriate"),
    ("o04-routine-mri-with-ces-red-flags", "appropriate"),
])
def test_pama_rating_as_system_action(tmp_path, sid, expected):
    scenario, body = run(tmp_path, sid, pama=True)
    (action,) = body["systemActions"]
    draft = scenario.request["context"]["draftOrders"]["entry"][0]["resource"]
    assert action["type"] == "update" and action["resource"]["id"] == draft["id"]
    assert action["resource"]["code"] == draft["code"]  # the whole draft, not just the rating
    assert rating(action) == expected


def test_pama_is_opt_in(tmp_path):
    _, body = run(tmp_path, "o01-mri-for-acute-back-pain", pama=False)
    assert "systemActions" not in body


def test_only_the_selected_draft_is_rated(tmp_path):
    _, body = run(tmp_path, "o09-several-drafts-one-selected", pama=True)
    assert [rating(a) for a in body["systemActions"]] == ["not-appropriate"]


def test_imaging_draft_no_rule_judges_is_no_criteria_apply(tmp_path):
    app = new_app(Settings(dev=True, auth_enabled=False, database_url=f"sqlite:///{tmp_path}/fb.db", pama_system_actions=True))
    draft = {"resourceType": "ServiceRequest", "id": "ct-1", "status": "draft", "intent": "order",
             "code": {"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": "72125"}]}}
    keys = ("patient", "conditions", "observations", "serviceRequests", "procedures", "imagingStudies",
            "diagnosticReports", "medicationStatements", "carePlans", "medicationRequests")
    body = {"hook": "order-sign", "hookInstance": str(uuid.uuid4()), "prefetch": {k: None for k in keys},
            "context": {"userId": "Practitioner/a", "patientId": "p", "draftOrders": {"resourceType": "Bundle", "entry": [{"resource": draft}]}}}
    response = app.test_client().post("/cds-services/nerve-cds-order-sign", json=body).get_json()
    assert response["cards"] == [] and [rating(a) for a in response["systemActions"]] == ["no-criteria-apply"]


def test_update_to_stat_keeps_the_whole_draft(tmp_path):
    scenario, body = run(tmp_path, "o04-routine-mri-with-ces-red-flags", pama=False)
    (card,) = body["cards"]
    (action,) = card["suggestions"][0]["actions"]
    draft = scenario.request["context"]["draftOrders"]["entry"][0]["resource"]
    assert action["resource"] == {**draft, "priority": "stat"}


def test_replace_deletes_the_selected_draft_then_creates_pt(tmp_path):
    scenario, body = run(tmp_path, "o09-several-drafts-one-selected", pama=False)
    (card,) = [c for c in body["cards"] if c["source"]["topic"]["code"] == "imaging-not-indicated"]
    delete, create = card["suggestions"][0]["actions"]
    assert delete == {"type": "delete", "description": delete["description"], "resourceId": scenario.request["context"]["selections"][0]}
    assert create["resource"]["code"]["coding"][0]["code"] == "308447003"
    assert {r["display"] for r in card["overrideReasons"]} >= {"Requested by a specialist", "Conservative care already tried and failed"}


def test_incomplete_draft_is_updated_as_a_whole_valid_resource(tmp_path):
    """CES red flags and a lumbar MRI draft carrying nothing but its code: the stat update is valid R4."""
    from fhir.resources.R4B.servicerequest import ServiceRequest
    app = new_app(Settings(dev=True, auth_enabled=False, database_url=f"sqlite:///{tmp_path}/fb.db"))
    draft = {"resourceType": "ServiceRequest", "id": "mri-1", "code": {"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": "72148"}]}}
    ces = {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": {
        "resourceType": "Condition", "id": "c-1", "subject": {"reference": "Patient/p-9"},
        "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "G83.4"}]}, "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]}}}]}
    keys = ("patient", "observations", "serviceRequests", "procedures", "imagingStudies", "diagnosticReports", "medicationStatements", "carePlans", "medicationRequests")
    body = {"hook": "order-select", "hookInstance": str(uuid.uuid4()), "prefetch": {**{k: None for k in keys}, "conditions": ces},
            "context": {"userId": "Practitioner/a", "patientId": "p-9", "selections": ["ServiceRequest/mri-1"],
                        "draftOrders": {"resourceType": "Bundle", "entry": [{"resource": draft}]}}}
    response = app.test_client().post("/cds-services/nerve-cds-order-select", json=body)
    assert response.status_code == 200
    (card,) = response.get_json()["cards"]
    (action,) = card["suggestions"][0]["actions"]
    resource = action["resource"]
    ServiceRequest.model_validate(resource)
    assert resource["id"] == "mri-1" and resource["priority"] == "stat" and resource["subject"] == {"reference": "Patient/p-9"}


def test_reason_code_counts_but_is_never_referenced(tmp_path):
    scenario, body = run(tmp_path, "o02-cpt-draft-with-reason-code-only", pama=False)
    (card,) = body["cards"]
    draft_ref = scenario.request["context"]["selections"][0]
    assert f"reason on {draft_ref}" in card["detail"]
    create = card["suggestions"][0]["actions"][1]["resource"]
    assert "reasonReference" not in create  # no Condition exists on the server for a draft's reasonCode


def test_a_lumbar_mri_draft_with_a_whole_spine_indication_is_completed_not_repeated(tmp_path):
    """CES red flags and a lung-cancer history while a routine lumbar MRI is selected: the CES card
    makes that draft stat and adds the cervical and thoracic spine; the MSCC card adds the coordinator
    call and orders nothing, so accepting both never orders the spine twice."""
    scenario, body = run(tmp_path, "o15-ces-lung-cancer-history-lumbar-mri-selected", pama=False)
    draft_id = scenario.request["context"]["draftOrders"]["entry"][0]["resource"]["id"]
    by_topic = {c["source"]["topic"]["code"]: c for c in body["cards"]}
    ces, mscc = by_topic["cauda-equina-emergency"], by_topic["serious-spinal-pathology"]
    assert "whole spine" in ces["summary"] and "lumbar spine alone" in ces["summary"]
    actions = ces["suggestions"][0]["actions"]  # one acceptance never leaves a lumbar-only emergency MRI
    created = {a["resource"]["code"]["coding"][0]["code"]: a["resource"]["priority"] for a in actions if a["type"] == "create"
               and a["resource"]["code"]["coding"][0]["code"].startswith("72")}
    assert created == {"72141": "stat", "72146": "stat"}
    updated = [a["resource"] for a in actions if a["type"] == "update"]
    assert [(r["id"], r["priority"]) for r in updated] == [(draft_id, "stat")]
    assert "suggestions" not in mscc and "selectionBehavior" not in mscc
    assert "MSCC coordinator" in mscc["summary"] and "see the CES card" in mscc["summary"]
    assert "whole-spine MRI is still needed within 24 hours" in " ".join(mscc["detail"].split()), "if CES is excluded"


ORDER_SCENARIOS = [sid for sid in list_scenarios(SETTINGS.fixtures_dir)
                   if load_scenario(SETTINGS.fixtures_dir, sid, date.today()).request["hook"] in ("order-select", "order-sign")]


def _considered_codes(request: dict) -> set[str]:
    """The codes of the drafts a card advises on: the selected ones on order-select, all on order-sign."""
    context = request["context"]
    drafts = [e["resource"] for e in context["draftOrders"].get("entry", [])]
    if request["hook"] == "order-select":
        drafts = [d for d in drafts if f"{d['resourceType']}/{d['id']}" in context.get("selections", [])]
    return {c["code"] for d in drafts for c in d.get("code", {}).get("coding", [])}


@pytest.mark.parametrize("sid", ORDER_SCENARIOS)
def test_no_card_orders_again_what_the_clinician_is_ordering(sid):
    """Every order-hook scenario: a suggestion never creates an order whose code a considered draft
    already carries; it updates or completes the draft instead (a second, differently prioritised
    copy of the same study is what gets scheduled by mistake)."""
    scenario = load_scenario(SETTINGS.fixtures_dir, sid, date.today())
    drafted = _considered_codes(scenario.request)
    for card in scenario_advice(shipped_library(), scenario, date.today()):
        for suggestion in card.get("suggestions", []):
            for action in suggestion["actions"]:
                if action["type"] == "create":
                    codes = {c["code"] for c in action["resource"].get("code", {}).get("coding", [])}
                    assert not codes & drafted, (card["summary"], suggestion["label"])


@pytest.mark.parametrize("days_ago, topic_actions", [(10, ["delete"]), (40, ["create"])])
def test_a_nerve_conduction_study_for_recent_radicular_pain_is_called_premature(tmp_path, days_ago, topic_actions):
    """EDX-2: NCS drafted without EMG for a sciatica begun 10 days ago is too early to be informative (the
    card offers to remove it); for one begun 40 days ago the card completes it with needle EMG."""
    app = new_app(Settings(dev=True, auth_enabled=False, database_url=f"sqlite:///{tmp_path}/fb.db"))
    onset = date.fromordinal(date.today().toordinal() - days_ago).isoformat()
    sciatica = {"resourceType": "Condition", "id": "c-1", "subject": {"reference": "Patient/p-7"}, "onsetDateTime": onset,
                "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "M54.41"}]},
                "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]}}
    ncs = {"resourceType": "ServiceRequest", "id": "ncs-1", "status": "draft", "intent": "order", "subject": {"reference": "Patient/p-7"},
           "code": {"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": "95910"}]}}
    keys = ("patient", "observations", "serviceRequests", "procedures", "imagingStudies", "diagnosticReports",
            "medicationStatements", "carePlans", "medicationRequests")
    body = {"hook": "order-sign", "hookInstance": str(uuid.uuid4()),
            "prefetch": {**{k: None for k in keys}, "conditions": {"resourceType": "Bundle", "type": "searchset",
                                                                     "entry": [{"resource": sciatica}]}},
            "context": {"userId": "Practitioner/a", "patientId": "p-7", "draftOrders": {"resourceType": "Bundle", "entry": [{"resource": ncs}]}}}
    response = app.test_client().post("/cds-services/nerve-cds-order-sign", json=body)
    assert response.status_code == 200, response.get_json()
    (card,) = [c for c in response.get_json()["cards"] if c["source"]["topic"]["code"] == "ncs-without-emg"]
    assert [a["type"] for a in card["suggestions"][0]["actions"]] == topic_actions
    assert ("too early" in card["summary"]) == (days_ago < 21)
    if days_ago < 21:
        assert card["suggestions"][0]["actions"][0]["resourceId"] == "ServiceRequest/ncs-1"


@pytest.mark.parametrize("sid, reason", [
    ("o01-mri-for-acute-back-pain", "neck or back pain without limb symptoms"),
    ("o09-several-drafts-one-selected", "radicular symptoms under 6 weeks"),
    ("u03-old-naproxen-course-mri-on-sign", "radicular symptoms for 6+ weeks, but no physiotherapy or analgesia recorded lately"),
])
def test_imaging_not_indicated_says_which_reason_applies(sid, reason):
    scenario = load_scenario(SETTINGS.fixtures_dir, sid, date.today())
    (card,) = [c for c in scenario_advice(shipped_library(), scenario, date.today())
               if c["source"]["topic"]["code"] == "imaging-not-indicated"]
    assert reason in card["summary"]
    assert "under 6 weeks" not in card["summary"] or "under 6 weeks" in reason, "an 8-week sciatica is not 'under 6 weeks'"


@pytest.mark.parametrize("sid, topic, line", [
    ("e05-order-sign-mri-new-severe-weakness", "progressive-deficit",
     "- Leg weakness: Muscle weakness (finding), left, lower limb, grade 2 (Observation, "),
    ("o05-pt-referral-with-ces-red-flags", "cauda-equina-emergency",
     "- Saddle anaesthesia or paraesthesia: Numbness (finding), saddle area (Observation, "),
])
def test_triggered_by_shows_the_side_site_and_grade_that_made_the_finding(sid, topic, line):
    """A critical or warning card must show why a generic code counts: the perineal site that makes
    'numbness' saddle anaesthesia, the side and MRC grade that make 'weakness' severe."""
    scenario = load_scenario(SETTINGS.fixtures_dir, sid, date.today())
    (card,) = [c for c in scenario_advice(shipped_library(), scenario, date.today()) if c["source"]["topic"]["code"] == topic]
    assert line in card["detail"]
