"""Reading answers and statuses as real EHRs send them (issue #19): "No" is never read as "yes",
a status is the HL7 coding wherever it sits, and nothing is dropped silently. Every test goes
through the real Flask app with the data as prefetch; the last ones load it into the real FHIR
server and let the service fetch it."""
from __future__ import annotations

import logging
import uuid
from datetime import date, datetime, timedelta, timezone

import pytest
import requests

from cds_service.core.settings import Settings
from cds_service.engine.advise import advise
from cds_service.engine.explain import explanation, outline
from tests.helpers.apps import new_app, shipped_library
from tests.helpers.calls import NULL_PREFETCH, SERVICE, hook

ICD, SNOMED, LOINC = "http://hl7.org/fhir/sid/icd-10-cm", "http://snomed.info/sct", "http://loinc.org"
V2_0136 = "http://terminology.hl7.org/CodeSystem/v2-0136"
V2_0532 = "http://terminology.hl7.org/CodeSystem/v2-0532"
V3 = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
LOCAL = "http://ehr.example.org/codes"
RETENTION, NUMBNESS, PERINEUM = (SNOMED, "267064002"), (SNOMED, "44077006"), (SNOMED, "38864007")
FASCICULATION, HYPERREFLEXIA, BABINSKI = (SNOMED, "82470000"), (SNOMED, "86854008"), (SNOMED, "246586009")
EMERGENCY, MND, DQ = "cauda-equina-emergency", "motor-neuron-disease-referral", "data-quality"
PATIENT = "p-1"
TODAY = date.today()

NEGATIVE_ANSWERS = [(V2_0136, "N"), (V2_0532, "N"), (SNOMED, "260385009"), (SNOMED, "373067005"), (SNOMED, "2667000"),
                    (LOINC, "LA6577-6"), (LOINC, "LA32-8"), (LOINC, "LA9634-2"), (SNOMED, "260415000"),
                    (LOINC, "LA11883-8")]
POSITIVE_ANSWERS = [(V2_0136, "Y"), (V2_0532, "Y"), (SNOMED, "373066001"), (SNOMED, "10828004"), (SNOMED, "52101004"),
                    (LOINC, "LA33-6"), (LOINC, "LA6576-8"), (LOINC, "LA9633-4"), (SNOMED, "260373001"),
                    (LOINC, "LA11882-0")]


def coded(*codings: tuple[str, str], text: str | None = None) -> dict:
    concept: dict = {"coding": [{"system": s, "code": c} for s, c in codings]}
    if text is not None:
        concept["text"] = text
    return concept


def status(system: str, code: str, *local: tuple[str, str]) -> dict:
    """A status CodeableConcept with the EHR's own codings listed before the HL7 one."""
    return coded(*local, (system, code))


def condition(rid: str, code: str, days: int = 0, **fields) -> dict:
    resource = {"resourceType": "Condition", "id": rid, "subject": {"reference": f"Patient/{PATIENT}"},
                "code": coded((ICD, code)), "onsetDateTime": (TODAY - timedelta(days=days)).isoformat(),
                "clinicalStatus": status(CLINICAL, "active")}
    resource.update(fields)
    return {k: v for k, v in resource.items() if v is not None}


def observation(rid: str, code: tuple[str, str] | None, **fields) -> dict:
    resource = {"resourceType": "Observation", "id": rid, "status": "final", "subject": {"reference": f"Patient/{PATIENT}"},
                "effectiveDateTime": TODAY.isoformat()}
    if code:
        resource["code"] = coded(code)
    resource.update(fields)
    return {k: v for k, v in resource.items() if v is not None}


def bundle(*resources: dict) -> dict | None:
    return {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": r} for r in resources]} if resources else None


def prefetch(*resources: dict) -> dict:
    by = {"Condition": "conditions", "Observation": "observations", "MedicationRequest": "medicationRequests"}
    out = dict(NULL_PREFETCH)
    for rtype, key in by.items():
        out[key] = bundle(*(r for r in resources if r["resourceType"] == rtype))
    return out


@pytest.fixture(scope="module")
def app(tmp_path_factory, fhir_base_url):
    return new_app(Settings(dev=True, auth_enabled=False, fhir_allowlist=(fhir_base_url,),
                            database_url=f"sqlite:///{tmp_path_factory.mktemp('answers')}/fb.db"))


def cards(app, *resources: dict) -> dict[str, dict]:
    """topic -> card, the resources sent as prefetch through the real endpoint."""
    r = app.test_client().post(SERVICE, json=hook(context={"userId": "Practitioner/a", "patientId": PATIENT},
                                                   prefetch=prefetch(*resources)))
    assert r.status_code == 200, r.get_json()
    return {c["source"]["topic"]["code"]: c for c in r.get_json()["cards"]}


RADICULOPATHY = condition("rad", "M54.16", 3)


def retention(answer: dict | None = None, **fields) -> dict:
    return observation("ret", RETENTION, valueCodeableConcept=answer, **fields)


# ---- "No" is never read as "yes" ---------------------------------------------------------------------
@pytest.mark.parametrize("answer", NEGATIVE_ANSWERS, ids=lambda a: f"{a[0].rsplit('/', 1)[-1]}|{a[1]}")
def test_a_retention_question_answered_no_in_any_code_system_raises_no_card(app, answer):
    found = cards(app, RADICULOPATHY, retention(coded(answer)))
    assert EMERGENCY not in found and DQ not in found


@pytest.mark.parametrize("answer", POSITIVE_ANSWERS, ids=lambda a: f"{a[0].rsplit('/', 1)[-1]}|{a[1]}")
def test_a_retention_question_answered_yes_in_any_code_system_is_the_emergency(app, answer):
    assert cards(app, RADICULOPATHY, retention(coded(answer)))[EMERGENCY]["indicator"] == "critical"


@pytest.mark.parametrize("text", ["No", " no ", "NEGATIVE", "absent"])
def test_a_text_only_no_is_no(app, text):
    assert EMERGENCY not in cards(app, RADICULOPATHY, retention({"text": text}))


def test_a_local_yes_no_coding_beside_the_hl7_one_is_read_from_the_hl7_one(app):
    assert EMERGENCY not in cards(app, RADICULOPATHY, retention(coded((LOCAL, "yn-2"), (V2_0136, "N"))))


def test_hyperreflexia_answered_n_from_table_0532_is_no_mnd_referral(app):
    twitching = observation("fas", FASCICULATION, valueBoolean=True)
    assert MND not in cards(app, twitching, observation("hr", HYPERREFLEXIA, valueCodeableConcept=coded((V2_0532, "N"))))
    assert MND in cards(app, twitching, observation("hr", HYPERREFLEXIA, valueCodeableConcept=coded((V2_0532, "Y"))))


def test_a_babinski_sign_interpreted_neg_is_no_mnd_referral(app):
    twitching = observation("fas", FASCICULATION, valueBoolean=True)
    assert MND not in cards(app, twitching, observation("bab", BABINSKI, interpretation=[coded((V3, "NEG"))]))
    assert MND in cards(app, twitching, observation("bab", BABINSKI, interpretation=[coded((V3, "POS"))]))


def test_a_component_answer_n_negates_the_symptom_observation(app):
    symptom = observation("sym", (LOINC, "75325-1"), valueCodeableConcept=coded(RETENTION),
                          component=[{"code": coded((LOCAL, "present?")), "valueCodeableConcept": coded((V2_0136, "N"))}])
    assert EMERGENCY not in cards(app, RADICULOPATHY, symptom)


def test_a_red_flag_screen_sent_as_components_is_read_component_by_component(app):
    def screen(answer: str) -> dict:
        return observation("screen", (LOCAL, "ces-screen"), component=[
            {"code": coded(RETENTION), "valueCodeableConcept": coded((V2_0136, answer))},
            {"code": coded((LOCAL, "comment")), "valueString": "seen in clinic"}])
    assert cards(app, RADICULOPATHY, screen("Y"))[EMERGENCY]["indicator"] == "critical"
    assert EMERGENCY not in cards(app, RADICULOPATHY, screen("N"))


def test_a_value_string_yes_is_read_and_a_number_as_text_is_not(app):
    assert EMERGENCY in cards(app, RADICULOPATHY, observation("ret", RETENTION, valueString="Yes"))
    found = cards(app, RADICULOPATHY, observation("ret", RETENTION, valueString="2.9"))
    assert EMERGENCY not in found and DQ in found


# ---- statuses from the HL7 coding wherever it sits -----------------------------------------------
def test_a_local_status_coding_listed_first_does_not_lose_the_emergency(app):
    ces = condition("ces", "G83.4", clinicalStatus=status(CLINICAL, "active", (LOCAL, "A")),
                    verificationStatus=status(VERIFICATION, "confirmed", (LOCAL, "C")))
    assert cards(app, ces)[EMERGENCY]["indicator"] == "critical"


def test_an_entered_in_error_ces_behind_a_local_coding_is_not_alive(app):
    ces = condition("ces", "G83.4", verificationStatus=status(VERIFICATION, "entered-in-error", (LOCAL, "confirmed")))
    found = cards(app, ces)
    assert EMERGENCY not in found and DQ not in found


def test_a_string_status_is_unreadable_never_active_and_said_in_one_line(app):
    found = cards(app, condition("ces", "G83.4", clinicalStatus="active"))
    assert EMERGENCY not in found
    assert found[DQ]["indicator"] == "warning" and "Cauda equina syndrome" in found[DQ]["detail"]
    assert "clinicalStatus" in found[DQ]["detail"]


def test_an_abated_condition_without_clinical_status_is_resolved(app):
    retention_dx = condition("ret", "R33.9", 2, clinicalStatus=None, abatementDateTime=TODAY.isoformat())
    assert EMERGENCY not in cards(app, RADICULOPATHY, retention_dx)
    assert EMERGENCY in cards(app, RADICULOPATHY, condition("ret", "R33.9", 2, clinicalStatus=None))


# ---- never drop a fact silently ------------------------------------------------------------------
def test_an_unreadable_red_flag_answer_alone_gives_the_could_not_read_card(app):
    found = cards(app, observation("sad", NUMBNESS, bodySite=coded(PERINEUM), valueCodeableConcept=coded((LOCAL, "maybe"))))
    assert list(found) == [DQ]
    dq = found[DQ]
    assert dq["summary"].startswith("1 red-flag item(s) in the record could not be read")
    assert "Saddle anaesthesia or paraesthesia" in dq["detail"] and "Observation" in dq["detail"]


def test_every_other_card_says_a_red_flag_could_not_be_read(app):
    found = cards(app, RADICULOPATHY, retention(coded((LOCAL, "yn-9"))))
    assert EMERGENCY not in found and set(found) == {DQ, "conservative-management"}
    assert "**Could not be read:** 1 red-flag item(s) (Urinary retention)" in found["conservative-management"]["detail"]
    assert "**Could not be read:** 1 red-flag" not in found[DQ]["detail"]


def test_a_positive_and_a_negative_answer_together_is_unreadable(app):
    found = cards(app, RADICULOPATHY, retention(coded((V2_0136, "Y")), interpretation=[coded((V3, "NEG"))]))
    assert EMERGENCY not in found and DQ in found


def test_a_lab_with_only_issued_is_dated_by_it(app):
    potassium = {"resourceType": "Observation", "id": "k", "status": "final", "subject": {"reference": f"Patient/{PATIENT}"},
                 "code": coded((LOINC, "2823-3")), "issued": f"{TODAY.isoformat()}T08:00:00Z",
                 "valueQuantity": {"value": 2.9, "unit": "mmol/L"}}
    twitching = observation("fas", FASCICULATION, valueBoolean=True)
    assert "electrolyte-contributor" in cards(app, twitching, potassium)


def test_a_medication_proposal_or_plan_is_not_current_use(app):
    def prednisolone(intent: str) -> dict:
        return {"resourceType": "MedicationRequest", "id": "mr", "status": "active", "intent": intent,
                "subject": {"reference": f"Patient/{PATIENT}"},
                "medicationCodeableConcept": coded(("http://www.nlm.nih.gov/research/umls/rxnorm", "8638")),
                "authoredOn": (TODAY - timedelta(days=700)).isoformat()}
    back_pain = condition("lbp", "M54.50", 3)
    assert "serious-spinal-pathology" in cards(app, back_pain, prednisolone("order"))
    for intent in ("proposal", "plan"):
        assert "serious-spinal-pathology" not in cards(app, back_pain, prednisolone(intent)), intent


def test_the_log_line_counts_what_could_not_be_read_by_reason_without_the_content(app, caplog):
    caplog.set_level(logging.INFO, logger="nerve_cds.request")
    cards(app, RADICULOPATHY, retention(coded((LOCAL, "SECRET-ANSWER"))), condition("ces", "G83.4", clinicalStatus="active"),
          observation("k", (LOINC, "2823-3"), valueString="2.9"))
    (line,) = [rec for rec in caplog.records if rec.name == "nerve_cds.request"]
    assert line.fields["unreadable"] == {"answer-not-recognised": 1, "status-not-coded": 1, "value-type-not-read": 1}
    assert "SECRET-ANSWER" not in str(line.fields) and "2.9" not in str(line.fields)


# ---- the same shapes fetched from the real FHIR server -------------------------------------------
def test_fetched_from_the_fhir_server_no_is_no_and_unreadable_is_said(app, fhir_base_url):
    patient = f"answers-{uuid.uuid4().hex[:8]}"
    resources = [
        {"resourceType": "Patient", "id": patient, "birthDate": "1970-01-01"},
        {**condition(f"{patient}-rad", "M54.16", 3), "subject": {"reference": f"Patient/{patient}"}},
        {**observation(f"{patient}-ret", RETENTION, valueCodeableConcept=coded((V2_0136, "N"))),
         "subject": {"reference": f"Patient/{patient}"}},
        {**observation(f"{patient}-sad", NUMBNESS, bodySite=coded(PERINEUM), valueCodeableConcept={"text": "no"}),
         "subject": {"reference": f"Patient/{patient}"}},
        {**condition(f"{patient}-ces", "G83.4", clinicalStatus=status(CLINICAL, "active", (LOCAL, "A")),
                     verificationStatus=status(VERIFICATION, "entered-in-error", (LOCAL, "C"))),
         "subject": {"reference": f"Patient/{patient}"}},
        {**observation(f"{patient}-inc", (SNOMED, "165232002"), valueCodeableConcept=coded((LOCAL, "??"))),
         "subject": {"reference": f"Patient/{patient}"}},
    ]
    transaction = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"resource": r, "request": {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"}} for r in resources]}
    loaded = requests.post(fhir_base_url, json=transaction, headers={"Content-Type": "application/fhir+json"}, timeout=30)
    assert loaded.status_code == 200, loaded.text[:300]
    request = hook(context={"userId": "Practitioner/a", "patientId": patient}, fhirServer=fhir_base_url)
    del request["prefetch"]
    r = app.test_client().post(SERVICE, json=request)
    assert r.status_code == 200, r.get_json()
    found = {c["source"]["topic"]["code"]: c for c in r.get_json()["cards"]}
    assert EMERGENCY not in found, "N, a text 'no' and an entered-in-error CES are not red flags"
    assert found[DQ]["indicator"] == "warning" and "Urinary incontinence" in found[DQ]["detail"]


def test_malformed_answers_statuses_and_intents_are_reported_never_a_server_error(app):
    odd = [retention({"coding": 5, "text": ["no"]}), observation("st", RETENTION, status=["final"], valueBoolean=True),
           observation("bo", NUMBNESS, bodySite=coded(PERINEUM), valueBoolean="true"),
           condition("ces", "G83.4", clinicalStatus=7, verificationStatus={"coding": "confirmed"}),
           {"resourceType": "MedicationRequest", "id": "mr", "status": "active", "intent": {"code": "order"},
            "subject": {"reference": f"Patient/{PATIENT}"},
            "medicationCodeableConcept": coded(("http://www.nlm.nih.gov/research/umls/rxnorm", "8638"))}]
    found = cards(app, RADICULOPATHY, *odd)
    assert EMERGENCY not in found
    assert "Urinary retention" in found[DQ]["detail"] and "Cauda equina syndrome" in found[DQ]["detail"]
    assert "Saddle anaesthesia" in found[DQ]["detail"]


def test_explain_mode_lists_what_could_not_be_read():
    library = shipped_library()
    data = prefetch(RADICULOPATHY, retention(coded((LOCAL, "yn-9"))), condition("ces", "G83.4", clinicalStatus="active"))
    context = {"userId": "Practitioner/a", "patientId": PATIENT, "hookInstance": "explain-unreadable"}
    advice = advise(library, library.service("nerve-cds-patient-view"), context, data, datetime.now(timezone.utc),
                    explain=True)
    report = explanation(advice, library)
    listed = {(u["resourceType"], u["id"], u["element"], u["reason"]) for u in report["unreadable"]}
    assert listed == {("Observation", "ret", "valueCodeableConcept", "answer-not-recognised"),
                      ("Condition", "ces", "clinicalStatus", "status-not-coded")}
    lines = "\n".join(outline(report))
    assert "Could not be read" in lines and "Condition/ces clinicalStatus [status-not-coded]" in lines
