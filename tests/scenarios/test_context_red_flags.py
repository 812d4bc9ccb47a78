"""What the cards say and order for the CLINICAL §6 red-flag scenarios (r20-r24): cord compression with
thoracic context, the Guillain-Barre pattern, spinal infection read from measured fever and CRP (and not
in the first post-operative days), and an epidural abscess with a new deficit. Real app, real FHIR
server; the prefetch an EHR builds from discovery brings the measurements the rules read."""
from __future__ import annotations

import re
import uuid
from datetime import date

import pytest
import requests

from cds_service.core.settings import Settings
from cds_service.data.scenarios import load_scenario
from tests.helpers.apps import new_app
from tests.helpers.scenarios import card, ehr_prefetch, fetched_replies, orders

SIDS = ["r20-retention-new-thoracic-pain", "r21-ascending-weakness-areflexia", "r22-postop-day20-fever-crp",
        "r23-epidural-abscess-new-weakness", "r24-postop-day2-fever"]
SPINE_MRI = {"72141", "72146", "72148", "72156", "72157", "72158"}
EDX = {"95907", "95908", "95909", "95910", "95911", "95912", "95913", "95885", "95886", "95887"}


@pytest.fixture(scope="module")
def app(fhir_base_url, tmp_path_factory):
    return new_app(Settings(dev=True, auth_enabled=False, fhir_allowlist=(fhir_base_url,),
                            database_url=f"sqlite:///{tmp_path_factory.mktemp('ctx')}/fb.db"))


@pytest.fixture(scope="module")
def replies(app, fhir_base_url):
    return fetched_replies(app, fhir_base_url, SIDS)


def mri_suggestions(reply: dict) -> list[list[set[str]]]:
    """Per suggestion of any card that creates a spine MRI: the codes of each MRI it creates."""
    found = []
    for c in reply["cards"]:
        for made in orders(c):
            mri = [codes for codes, _ in made if codes & SPINE_MRI]
            if mri:
                found.append(mri)
    return found


def asks_about_fever(text: str) -> bool:
    """'Ask about ...' (or 'ask about the rest ...') followed, in the same paragraph, by fever."""
    return any("fever" in m.group(0).lower() for m in re.finditer(r"ask about[^\n]*(\n[^\n]+)*", text, re.IGNORECASE))


def triggers(c: dict) -> str:
    return c["detail"].split("**Triggered by:**")[1].split("\n\n**")[0]


def test_retention_with_new_thoracic_pain_is_cord_compression_with_one_stat_whole_spine_mri(replies):
    reply = replies["r20-retention-new-thoracic-pain"]
    ces = card(replies, "r20-retention-new-thoracic-pain", "cauda-equina-emergency")
    assert ces["indicator"] == "critical" and "whole spine" in ces["summary"]
    assert mri_suggestions(reply) == [[{"72141"}, {"72146"}, {"72148"}]], "one whole-spine order, never lumbar alone"
    assert {p for _, p in orders(ces)[0]} == {"stat"}
    assert any(codes == {"306104004"} for s in orders(ces) for codes, _ in s), "emergency referral"
    assert {c["indicator"] for c in reply["cards"]} == {"critical"}, "no routine card beside it"


def test_gbs_pattern_is_a_same_day_neurology_or_emergency_card_without_lumbar_mri_or_edx(replies):
    reply = replies["r21-ascending-weakness-areflexia"]
    anw = card(replies, "r21-ascending-weakness-areflexia", "acute-neuromuscular-weakness")
    assert anw["indicator"] == "critical" and "breathing and swallowing" in anw["summary"]
    made = {frozenset(codes) for s in orders(anw) for codes, _ in s}
    assert made == {frozenset({"306104004"}), frozenset({"183521007"})}
    assert "Absent or reduced reflexes" in triggers(anw) and "Do not wait for EMG/NCS" in anw["detail"]
    created = {code for c in reply["cards"] for s in orders(c) for codes, _ in s for code in codes}
    assert not created & (SPINE_MRI | EDX), "no lumbar MRI and no EMG/NCS for a Guillain-Barre pattern"
    assert not any("21 days" in c["detail"] or "keep active" in c["summary"].lower() for c in reply["cards"])


def test_postoperative_fever_and_crp_on_day_20_raise_the_infection_card_naming_them_as_found(replies):
    reply = replies["r22-postop-day20-fever-crp"]
    rf1 = card(replies, "r22-postop-day20-fever-crp", "serious-spinal-pathology")
    assert rf1["indicator"] == "warning"
    found = triggers(rf1)
    assert re.search(r"- Measured fever: Body temperature, 38\.6 Cel \(Observation, \d{4}-\d{2}-\d{2}\)", found), found
    assert re.search(r"- Raised CRP: .*, 180 mg/L \(Observation, ", found), found
    assert rf1["detail"].index("**Triggered by:**") > rf1["detail"].index("Blood cultures"), "what to do, then the evidence"
    assert not any(asks_about_fever(c["detail"]) for c in reply["cards"]), "the record holds the fever"
    assert mri_suggestions(reply) == [[{"72158"}]], "one MRI, without and with contrast"


def test_epidural_abscess_with_new_weakness_is_critical_with_one_contrast_whole_spine_mri(replies):
    reply = replies["r23-epidural-abscess-new-weakness"]
    rf1 = card(replies, "r23-epidural-abscess-new-weakness", "serious-spinal-pathology")
    assert rf1["indicator"] == "critical"
    assert mri_suggestions(reply) == [[{"72156"}, {"72157"}, {"72158"}]], "one contrast study, no non-contrast MRI beside it"
    assert {p for _, p in orders(rf1)[0]} == {"stat"}
    assert "Intraspinal abscess" in triggers(rf1) and "Muscle weakness" in triggers(rf1)


def test_fever_two_days_after_spinal_surgery_is_named_as_found_without_an_infection_card(replies):
    reply = replies["r24-postop-day2-fever"]
    assert "serious-spinal-pathology" not in {c["source"]["topic"]["code"] for c in reply["cards"]}
    cons = card(replies, "r24-postop-day2-fever", "conservative-management")
    assert re.search(r"- Measured fever: Body temperature, 38\.3 Cel \(Observation, ", triggers(cons))
    assert re.search(r"\*\*Found there:\*\* temperature 38\.3 °C \(\d{4}-\d\d-\d\d, raised\), CRP 95 mg/L", cons["detail"])
    assert not any(asks_about_fever(c["detail"]) for c in reply["cards"])


def test_the_measurements_prefetch_brings_the_vital_signs_and_labs_and_only_those(app, fhir_base_url):
    """Discovery's `measurements` template filters by code: an EHR running it sends the temperature and
    CRP, not the whole Observation history, and the cards are the same as when the service fetches."""
    scenario = load_scenario(Settings().fixtures_dir, "r22-postop-day20-fever-crp", date.today(), prefix="pf-")
    assert requests.post(fhir_base_url, json=scenario.bundle, timeout=30).status_code == 200
    client = app.test_client()
    context = {**scenario.request["context"]}
    prefetch = ehr_prefetch(client, fhir_base_url, "nerve-cds-patient-view", context)
    codes = {c["code"] for e in prefetch["measurements"]["entry"] for c in e["resource"]["code"]["coding"]}
    assert codes == {"8310-5", "1988-5"}
    only_measurements = {k: (v if k in ("patient", "conditions", "procedures", "measurements") else None)
                         for k, v in prefetch.items()}
    only_measurements["observations"] = None  # the Observation search found nothing else: the measurements suffice
    body = {"hook": "patient-view", "hookInstance": str(uuid.uuid4()), "context": context, "prefetch": only_measurements}
    cards = client.post("/cds-services/nerve-cds-patient-view", json=body).get_json()["cards"]
    assert {c["source"]["topic"]["code"]: c["indicator"] for c in cards}.get("serious-spinal-pathology") == "warning"
