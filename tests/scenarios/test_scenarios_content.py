"""Golden card content: what docs/clinical-safety.md says each scenario's cards must contain, beyond their
topics (the orders and their codes, priorities and body sites, the wording that carries a rule's
nuance, the values that triggered them). Real app, real FHIR server, the service fetching."""
from __future__ import annotations

import uuid
from datetime import date

import pytest
import requests

from cds_service.core.settings import Settings
from cds_service.data.scenarios import list_scenarios, load_scenario
from tests.helpers.apps import new_app

SETTINGS = Settings()
SCENARIOS = list_scenarios(SETTINGS.fixtures_dir)
CPT, SCT = "http://www.ama-assn.org/go/cpt", "http://snomed.info/sct"


@pytest.fixture(scope="module")
def cards(fhir_base_url, tmp_path_factory):
    """scenario id -> (scenario, cards), every scenario loaded and run once through the app."""
    app = new_app(Settings(dev=True, auth_enabled=False, fhir_allowlist=(fhir_base_url,),
                           database_url=f"sqlite:///{tmp_path_factory.mktemp('content')}/fb.db"))
    client = app.test_client()
    out = {}
    for sid in SCENARIOS:
        scenario = load_scenario(SETTINGS.fixtures_dir, sid, date.today())
        reply = requests.post(fhir_base_url, json=scenario.bundle, headers={"Content-Type": "application/fhir+json"}, timeout=30)
        assert reply.status_code == 200, reply.text[:300]
        request = {**scenario.request, "hookInstance": str(uuid.uuid4()), "fhirServer": fhir_base_url}
        response = client.post(f"/cds-services/nerve-cds-{request['hook']}", json=request)
        assert response.status_code == 200, response.get_json()
        out[sid] = (scenario, response.get_json()["cards"])
    return out


def card(cards, sid, topic):
    (found,) = [c for c in cards[sid][1] if c["source"]["topic"]["code"] == topic]
    return found


def created(card_):
    """Every resource a card's suggestions would create."""
    return [a["resource"] for s in card_.get("suggestions", []) for a in s["actions"] if a["type"] == "create"]


def codes(resource, system):
    return {c["code"] for c in resource["code"]["coding"] if c["system"] == system}


def with_topic(cards, topic):
    return [sid for sid, (_, cs) in cards.items() if any(c["source"]["topic"]["code"] == topic for c in cs)]


def test_every_ces_emergency_offers_a_stat_lumbar_mri(cards):
    sids = [s for s in with_topic(cards, "cauda-equina-emergency") if s.startswith(("s", "x"))]
    assert {"s03-classic-cauda-equina", "s04-painless-saddle-and-bowel", "s04b-saddle-paraesthesia-only",
            "s07b-new-red-flag-after-mri", "x01-ces1-suspected-condition", "x02-ces1-bilateral-with-foot-drop"} <= set(sids)
    for sid in sids:
        mri = [r for r in created(card(cards, sid, "cauda-equina-emergency")) if "72148" in codes(r, CPT)]
        assert mri and mri[0]["priority"] == "stat", sid
        assert {c["code"] for b in mri[0]["bodySite"] for c in b["coding"]} == {"122496007"}, sid


def test_every_conservative_card_carries_the_ces_safety_net(cards):
    sids = with_topic(cards, "conservative-management")
    assert len(sids) >= 10
    for sid in sids:
        detail = card(cards, sid, "conservative-management")["detail"]
        assert "Safety net" in detail and "bladder" in detail and "saddle" in detail, sid


@pytest.mark.parametrize("sid, cpt, body_site", [
    ("s02-persistent-radiculopathy-after-pt", "72148", "122496007"),
    ("x05-img2-without-documented-care", "72148", "122496007"),
    ("s14-cervical-radiculopathy-7-weeks", "72141", "122494005"),
])
def test_imaging_card_orders_mri_of_the_affected_region(cards, sid, cpt, body_site):
    imaging = card(cards, sid, "radiculopathy-imaging")
    (mri,) = [r for r in created(imaging) if r.get("bodySite")]
    assert codes(mri, CPT) == {cpt} and mri["priority"] == "routine"
    assert {c["code"] for b in mri["bodySite"] for c in b["coding"]} == {body_site}


@pytest.mark.parametrize("sid", ["s02-persistent-radiculopathy-after-pt", "x05-img2-without-documented-care",
                                 "s14-cervical-radiculopathy-7-weeks"])
def test_six_week_point_is_one_card_with_mri_and_edx_suggestions(cards, sid):
    """docs/clinical-safety.md alert volume: imaging and EDX at the 6-week point are one card, two suggestions
    (this replaces the separate EDX card these scenarios used to expect)."""
    assert not [c for c in cards[sid][1] if c["source"]["topic"]["code"] == "electrodiagnostic-testing"]
    mri_suggestion, edx_suggestion = card(cards, sid, "radiculopathy-imaging")["suggestions"]
    ordered = {c for a in edx_suggestion["actions"] for c in codes(a["resource"], CPT)}
    assert any("95907" <= c <= "95913" for c in ordered) and ordered & {"95885", "95886"}
    assert not ordered & {"72148", "72141"}


def test_s12_progressive_deficit_mri_now_spinal_referral_and_edx_timing(cards):
    deficit = card(cards, "s12-progressive-foot-drop", "progressive-deficit")
    orders = created(deficit)
    assert any("72148" in codes(r, CPT) and r["priority"] == "urgent" for r in orders)
    assert any("183545006" in codes(r, SCT) for r in orders), "urgent spinal referral"
    assert "21 days" in deficit["detail"], "EMG/NCS most informative at 3 weeks: the note for day 10"
    assert "awaiting" in card(cards, "s12-progressive-foot-drop", "conservative-management")["summary"]


def test_s01_says_no_imaging_before_6_weeks_and_edx_after_3(cards):
    cons = card(cards, "s01-acute-lumbar-radiculopathy", "conservative-management")
    assert "not indicated before 6 weeks" in cons["detail"] and "21 days" in cons["detail"]
    assert any("308447003" in codes(r, SCT) for r in created(cons)), "physiotherapy referral"


@pytest.mark.parametrize("sid", ["e11-mri-normal-edx", "s13-carpal-tunnel-atrophy",
                                 "x08-edx3-ulnar-persistent", "x17-edx3-peroneal-neuropathy"])
def test_edx_card_orders_ncs_with_needle_emg_in_one_suggestion(cards, sid):
    (suggestion,) = card(cards, sid, "electrodiagnostic-testing")["suggestions"]
    ordered = {c for a in suggestion["actions"] for c in codes(a["resource"], CPT)}
    assert any("95907" <= c <= "95913" for c in ordered) and ordered & {"95885", "95886"}


@pytest.mark.parametrize("sid, indicator", [("s11-als-concern", "warning"), ("s11b-als-dysphagia", "critical"),
                                            ("x10-mnd-breathless", "critical")])
def test_mnd_card_refers_to_neurology(cards, sid, indicator):
    mnd = card(cards, sid, "motor-neuron-disease-referral")
    assert mnd["indicator"] == indicator
    assert any("183521007" in codes(r, SCT) for r in created(mnd))
    assert "suspected motor neuron disease" in mnd["detail"]


def test_older_persistent_twitching_says_consider_emg(cards):
    benign = card(cards, "x11-fas-ben-older-persistent", "benign-fasciculation")
    assert "consider neurology review or EMG" in benign["summary"] and "55" in benign["summary"]
    young = card(cards, "s06-benign-twitching-caffeine", "benign-fasciculation")
    assert "EMG" not in young["summary"] and "Caffeine excess" in young["detail"]


@pytest.mark.parametrize("sid, value", [("s10-twitching-low-potassium", "potassium 3.1 mmol/L"),
                                        ("x12-fas-lab-magnesium-mmol", "magnesium 0.55 mmol/L"),
                                        ("x13-fas-lab-magnesium-mgdl-range", "magnesium 1.4 mg/dL")])
def test_electrolyte_card_names_the_low_value_in_its_own_unit(cards, sid, value):
    assert card(cards, sid, "electrolyte-contributor")["summary"].startswith(f"Low {value} ")


@pytest.mark.parametrize("sid", SCENARIOS)
def test_suggestions_point_at_this_patients_real_resources(cards, sid):
    """reasonReference names resources that exist in the record; subject, encounter, requester from the context."""
    scenario, cards_ = cards[sid]
    on_record = {f"{e['resource']['resourceType']}/{e['resource']['id']}" for e in scenario.bundle["entry"]}
    drafts = {f"ServiceRequest/{d['resource']['id']}" for d in scenario.request["context"].get("draftOrders", {}).get("entry", [])}
    context = scenario.request["context"]
    for card_ in cards_:
        for resource in created(card_):
            assert resource["subject"] == {"reference": f"Patient/{context['patientId']}"}
            assert resource["encounter"] == {"reference": f"Encounter/{context['encounterId']}"}
            assert resource["requester"] == {"reference": context["userId"]}
            reasons = {r["reference"] for r in resource.get("reasonReference", [])}
            assert reasons <= on_record | drafts, f"{card_['summary']}: {reasons - on_record - drafts}"


def test_s10_benign_card_lists_the_low_potassium_as_a_contributor(cards):
    detail = card(cards, "s10-twitching-low-potassium", "benign-fasciculation")["detail"]
    assert "none recorded" not in detail and "potassium" in detail.lower()
    assert "Thiazide and thiazide-like diuretics" in detail, "the hydrochlorothiazide on the record"


@pytest.mark.parametrize("sid", ["s07-mri-done-20-days-ago", "x06-img4-open-mri-order", "e09-mri-week5-now-week10"])
def test_conservative_card_past_6_weeks_does_not_promise_a_6_week_review(cards, sid):
    cons = card(cards, sid, "conservative-management")
    assert "reassess at 6 weeks" not in (cons["summary"] + cons["detail"]).lower()


# docs/clinical-safety.md (clinical safety review): deficits without a coded diagnosis, MND without twitching,
# red flags on order hooks, episodes and recency, alert wording.
def test_new_foot_drop_with_back_pain_gets_mri_now_not_a_6_week_review(cards):
    deficit = card(cards, "e01-new-foot-drop-back-pain", "progressive-deficit")
    assert any("72148" in codes(r, CPT) and r["priority"] == "urgent" for r in created(deficit))
    cons = card(cards, "e01-new-foot-drop-back-pain", "conservative-management")
    assert "awaiting" in cons["summary"] and "reassess at 6 weeks" not in (cons["summary"] + cons["detail"]).lower()


@pytest.mark.parametrize("sid", ["e04-mnd-breathless-lying-flat", "x10-mnd-breathless"])
def test_breathless_mnd_card_has_its_own_summary_and_an_immediate_referral(cards, sid):
    mnd = card(cards, sid, "motor-neuron-disease-referral")
    warning = card(cards, "e03-progressive-weakness-wasting-no-twitching", "motor-neuron-disease-referral")
    assert mnd["indicator"] == "critical" and warning["indicator"] == "warning"
    assert mnd["summary"] != warning["summary"] and "immediately" in mnd["summary"]
    (referral,) = [r for r in created(mnd) if "183521007" in codes(r, SCT)]
    assert referral["priority"] == "stat"
    assert "suspected motor neuron disease" in mnd["detail"]


def test_mnd_without_twitching_refers_to_neurology(cards):
    mnd = card(cards, "e03-progressive-weakness-wasting-no-twitching", "motor-neuron-disease-referral")
    referral = [r for r in created(mnd) if "183521007" in codes(r, SCT)]
    assert referral and referral[0]["priority"] == "urgent"
    assert "Twitching is not required" in mnd["detail"]


def test_order_sign_mri_for_a_new_deficit_is_supported_not_questioned(cards):
    deficit = card(cards, "e05-order-sign-mri-new-severe-weakness", "progressive-deficit")
    assert "make the lumbar MRI being ordered urgent" in deficit["summary"]
    urgent, referral = deficit["suggestions"]  # the drafted MRI made urgent, not ordered twice; the referral
    (update,) = urgent["actions"]
    assert update["type"] == "update" and update["resource"]["priority"] == "urgent" and codes(update["resource"], CPT) == {"72148"}
    assert [codes(a["resource"], SCT) for a in referral["actions"]] == [{"183545006"}]


def test_current_low_calcium_orders_calcium_with_albumin_and_reports_normal_potassium(cards):
    lab = card(cards, "e08-twitching-low-calcium-now", "electrolyte-contributor")
    assert lab["summary"].startswith("Low calcium 1.9 mmol/L ")
    ordered = {c for r in created(lab) for c in codes(r, CPT)}
    assert ordered == {"82310", "82040"}, "calcium with albumin only, not a BMP or potassium"
    assert "potassium 4.2 mmol/L (normal" in lab["detail"] and "magnesium" in lab["detail"]
    benign = card(cards, "e08-twitching-low-calcium-now", "benign-fasciculation")
    assert "likely benign" not in (benign["summary"] + benign["detail"]).lower()


@pytest.mark.parametrize("sid", ["e10-older-twitching-no-exam"])
def test_older_patient_twitching_without_exam_is_asked_to_examine_not_reassured(cards, sid):
    benign = card(cards, sid, "benign-fasciculation")
    text = benign["summary"] + benign["detail"]
    assert "examine" in benign["summary"].lower()
    assert "likely benign" not in text.lower() and "no emg" not in text.lower()
    assert any("183521007" in codes(r, SCT) for r in created(benign)), "neurology review offered"


def test_no_card_claims_there_are_no_red_flags(cards):
    for sid, (_, cards_) in cards.items():
        for card_ in cards_:
            text = (card_["summary"] + card_["detail"]).lower()
            assert "no red flags" not in text and "without red flags" not in text, (sid, card_["summary"])
