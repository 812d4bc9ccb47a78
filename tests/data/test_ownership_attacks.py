"""What an independent security tester got through (issue #17 items 3 and 5): another patient's
data driving a card, and unusable data answered 200 {"cards": []}. Each case goes through the real
app (and a really misbehaving FHIR server where data is fetched)."""
from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cds_service.core.errors import PreconditionFailed
from cds_service.core.settings import Settings
from cds_service.data.ownership import Owner
from cds_service.engine.advise import advise
from tests.helpers.apps import new_app, shipped_library
from tests.helpers.fault_servers import ByPath

PV = "/cds-services/nerve-cds-patient-view"
OS = "/cds-services/nerve-cds-order-sign"
PID = "p1"
ICD = "http://hl7.org/fhir/sid/icd-10-cm"
TODAY = date.today().isoformat()
RECENT = (date.today() - timedelta(days=3)).isoformat()
ACTIVE = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]}
KEYS = ("observations", "serviceRequests", "procedures", "imagingStudies", "diagnosticReports",
        "medicationStatements", "carePlans", "medicationRequests", "measurements")
PATIENT = {"resourceType": "Patient", "id": PID, "birthDate": "1980-01-01",
           "identifier": [{"system": "urn:oid:1.2.3", "value": "MRN-1"}]}
OO = {"resourceType": "OperationOutcome", "issue": [{"severity": "fatal", "code": "too-costly", "diagnostics": "search not performed"}]}


def condition(cid: str, code: str, subject: str = f"Patient/{PID}") -> dict:
    return {"resourceType": "Condition", "id": cid, "clinicalStatus": ACTIVE, "onsetDateTime": RECENT,
            "subject": {"reference": subject}, "code": {"coding": [{"system": ICD, "code": code}]}}


def searchset(*resources: dict) -> dict:
    return {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": r} for r in resources]}


CES = (condition("c1", "M54.16"), condition("c2", "R33.9"))  # radiculopathy + urinary retention


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    db = tmp_path_factory.mktemp("own") / "fb.db"
    return new_app(Settings(dev=True, auth_enabled=False, database_url=f"sqlite:///{db}")).test_client()


def call(client, service=PV, fhir_server=None, context=None, **prefetch):
    body = {"hook": "order-sign" if service == OS else "patient-view", "hookInstance": str(uuid.uuid4()),
            "context": {"userId": "Practitioner/dr", "patientId": PID, **(context or {})},
            "prefetch": {**dict.fromkeys(KEYS), "patient": PATIENT, "conditions": searchset(*CES), **prefetch}}
    if fhir_server:
        body["fhirServer"] = fhir_server
    return client.post(service, json=body)


def ces_topics(response) -> set[str]:
    assert response.status_code == 200, response.get_data(as_text=True)[:400]
    return {c["source"]["topic"]["code"] for c in response.get_json()["cards"]} & {"cauda-equina-emergency", "cauda-equina-urgent"}


def test_the_control_makes_a_ces_card(client):
    assert ces_topics(call(client))


# --- another patient's data ------------------------------------------------------------------------

def test_an_absolute_reference_without_a_fhir_server_is_set_aside(client):
    """Without a fhirServer an absolute reference cannot be shown to be this server's patient."""
    other = "https://other-hospital.example.net/fhir/Patient/p1"
    r = call(client, conditions=searchset(condition("c0", "M54.16"), *(condition(c["id"], "R33.9", other) for c in CES)))
    assert not ces_topics(r)


DRAFT_SUBJECTS = {
    "identifier of another patient": ({"identifier": {"system": "urn:oid:1.2.3", "value": "MRN-2"}}, []),
    "a string": ("Patient/p1", []),
    "a list": ([{"reference": "Patient/p1"}], []),
    "a number": (5, []),
    "reference as a list": ({"reference": ["Patient/p1"]}, []),
    "display only": ({"display": "Other Patient"}, []),
    "urn:uuid of another Patient in draftOrders": ({"reference": "urn:uuid:zz"}, [{"fullUrl": "urn:uuid:zz", "resource": {"resourceType": "Patient", "id": "p2"}}]),
    "absolute on another server": ({"reference": "https://other.example.net/fhir/Patient/p1"}, []),
    "typed Group": ({"reference": "Patient/p1", "type": "Group"}, []),
    "plain Patient/p2": ({"reference": "Patient/p2"}, []),
}


def order_sign(client, subject, extra=()):
    draft = {"resourceType": "ServiceRequest", "id": "d1", "status": "draft", "intent": "order", "subject": subject,
             "code": {"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": "72148"}]},
             "reasonCode": [{"coding": [{"system": ICD, "code": "R33.9"}]}, {"coding": [{"system": ICD, "code": "M54.16"}]}],
             "authoredOn": TODAY}
    drafts = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": draft}, *extra]}
    return call(client, OS, context={"draftOrders": drafts}, conditions=None)


@pytest.mark.parametrize("name", list(DRAFT_SUBJECTS))
def test_a_draft_of_anyone_else_is_refused(client, name):
    subject, extra = DRAFT_SUBJECTS[name]
    r = order_sign(client, subject, extra)
    assert r.status_code == 400, r.get_data(as_text=True)[:300]
    assert r.get_json()["resourceType"] == "OperationOutcome"
    assert "draftOrders.entry[0].resource is not the context patient's" in r.get_json()["issue"][0]["diagnostics"]


@pytest.mark.parametrize("subject, extra", [
    ({"reference": "Patient/p1"}, []),
    ({"identifier": {"system": "urn:oid:1.2.3", "value": "MRN-1"}}, []),
    ({"reference": "urn:uuid:me"}, [{"fullUrl": "urn:uuid:me", "resource": PATIENT}]),
])
def test_a_draft_of_the_context_patient_still_counts(client, subject, extra):
    assert ces_topics(order_sign(client, subject, extra))


def observation(focus: str | None) -> dict:
    obs = {"resourceType": "Observation", "id": "o1", "status": "final", "subject": {"reference": f"Patient/{PID}"},
           "code": {"coding": [{"system": "http://snomed.info/sct", "code": "267064002"}]},  # urinary retention
           "effectiveDateTime": TODAY, "valueBoolean": True}
    return {**obs, "focus": [{"reference": focus}]} if focus else obs


@pytest.mark.parametrize("focus, counts", [(None, True), (f"Patient/{PID}", True), ("Patient/p2", False), ("RelatedPerson/r1", False)])
def test_an_observation_about_someone_else_is_set_aside(client, focus, counts):
    temperature = {"resourceType": "Observation", "id": "o0", "status": "final", "subject": {"reference": f"Patient/{PID}"},
                   "code": {"coding": [{"system": "http://loinc.org", "code": "8310-5"}]}, "effectiveDateTime": TODAY,
                   "valueQuantity": {"value": 36.8, "unit": "Cel", "system": "http://unitsofmeasure.org", "code": "Cel"}}
    r = call(client, conditions=searchset(condition("c1", "M54.16")), observations=searchset(temperature, observation(focus)))
    assert bool(ces_topics(r)) is counts


REFERENCE_BASE = "http://127.0.0.1:9/fhir"
VALID = {f"Patient/{PID}", f"Patient/{PID}/_history/3", f"{REFERENCE_BASE}/Patient/{PID}", f"{REFERENCE_BASE}/Patient/{PID}/_history/3"}
PIECES = st.tuples(st.sampled_from(["", f"{REFERENCE_BASE}/", "https://other.example/fhir/", "../", "Group/g1/", "Patient/p2/", "/",
                                    f"{REFERENCE_BASE}/Group/g1/"]),
                   st.sampled_from(["Patient", "Group", "patient", "RelatedPerson"]),
                   st.sampled_from([PID, "p2", f"{PID}\n", "", f" {PID}"]),
                   st.sampled_from(["", "/_history/3", "/_history/", "?x=1", "/", "#a", "/Patient/p2"]))


@settings(max_examples=400, deadline=None)
@given(st.one_of(PIECES.map(lambda p: f"{p[0]}{p[1]}/{p[2]}{p[3]}"), st.text(max_size=40)))
def test_only_exact_references_to_the_context_patient_count(reference):
    owner = Owner(PID, {"patient": PATIENT}, REFERENCE_BASE)
    resource = {"resourceType": "Condition", "id": "c", "subject": {"reference": reference}}
    assert (owner.judge(resource) is None) is (reference in VALID)


# --- never a silent 200 [] -------------------------------------------------------------------------

def test_a_synthea_urn_uuid_subject_with_its_patient_in_the_bundle_counts(client):
    urn = "urn:uuid:6f1d0a4e-1111-4222-8333-944455556666"
    conditions = {"resourceType": "Bundle", "type": "searchset", "entry": [
        {"fullUrl": urn, "resource": PATIENT},
        *({"fullUrl": f"urn:uuid:{c['id']}", "resource": condition(c["id"], c["code"]["coding"][0]["code"], urn)} for c in CES)]}
    assert ces_topics(call(client, conditions=conditions))


def test_the_engine_refuses_a_required_key_emptied_of_the_patients_data():
    """The engine judges data it was handed (a saved request, a test) by the same rule: a
    required key with resources but none of this patient's is a 412, not advice on nothing."""
    library = shipped_library()
    data = {**dict.fromkeys(KEYS), "patient": PATIENT, "conditions": searchset(*(condition(c["id"], "R33.9", "Patient/p2") for c in CES))}
    with pytest.raises(PreconditionFailed, match="conditions: nothing in it is a Condition of this patient"):
        advise(library, library.service("nerve-cds-patient-view"), {"patientId": PID, "userId": "Practitioner/dr"}, data,
               datetime.now(timezone.utc))


UNUSABLE_CONDITIONS = {
    "only a fatal OperationOutcome (mode outcome)": {"resourceType": "Bundle", "type": "searchset",
                                                     "entry": [{"search": {"mode": "outcome"}, "resource": OO}]},
    "only a fatal OperationOutcome (no mode)": {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": OO}]},
    "a batch-response entry with status 500": {"resourceType": "Bundle", "type": "batch-response",
                                               "entry": [{"response": {"status": "500"}, "resource": OO}]},
    "a next link with an empty url": {"resourceType": "Bundle", "type": "searchset", "entry": [],
                                      "link": [{"relation": "next", "url": ""}]},
}


@pytest.mark.parametrize("name", list(UNUSABLE_CONDITIONS))
def test_unusable_conditions_are_412_not_no_cards(client, name):
    r = call(client, conditions=UNUSABLE_CONDITIONS[name])
    assert r.status_code == 412, r.get_data(as_text=True)[:300]
    assert "conditions" in r.get_json()["issue"][0]["diagnostics"]


def test_a_searchset_short_of_its_total_is_read_as_partial_and_said_never_empty(client):
    """`total: 57` with no entries and no next link, and no fhirServer to ask again: the record is
    read as it is (nothing here), and the record-incomplete card says the conditions were cut short,
    so the answer is never a silent 200 with no cards."""
    r = call(client, conditions={"resourceType": "Bundle", "type": "searchset", "total": 57, "entry": []})
    assert r.status_code == 200, r.get_data(as_text=True)[:300]
    cards = r.get_json()["cards"]
    assert [c["source"]["topic"]["code"] for c in cards] == ["record-incomplete"]
    assert "condition" in cards[0]["detail"].lower()


@pytest.mark.parametrize("patient", [searchset(), {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": OO}]},
                                     {"resourceType": "Bundle", "type": "searchset",
                                      "entry": [{"resource": {**OO, "issue": [{"severity": "information", "code": "informational"}]}}]}])
def test_a_patient_key_without_a_patient_is_412(client, patient):
    r = call(client, patient=patient, conditions=searchset())
    assert r.status_code == 412, r.get_data(as_text=True)[:300]
    assert "patient" in r.get_json()["issue"][0]["diagnostics"]


@pytest.mark.parametrize("conditions", [{"resourceType": "Bundle", "type": "searchset", "entry": [{"search": {"mode": "outcome"}, "resource": OO}]},
                                        {"resourceType": "Bundle", "type": "searchset", "total": 57, "entry": []}])
def test_fetched_from_a_server_that_answers_with_nothing_usable_is_412(tmp_path, conditions):
    """The allowlisted server answers the Patient read with an empty Bundle and the Condition search
    with a failed search: no advice can be given."""
    with ByPath({"Patient/": searchset(), "Condition": conditions}) as server:
        app = new_app(Settings(dev=True, auth_enabled=False, database_url=f"sqlite:///{tmp_path}/fb.db",
                               fhir_allowlist=(server.base_url,))).test_client()
        r = app.post(PV, json={"hook": "patient-view", "hookInstance": str(uuid.uuid4()), "fhirServer": server.base_url,
                               "context": {"userId": "Practitioner/dr", "patientId": PID}})
        assert server.count > 0
    assert r.status_code == 412, r.get_data(as_text=True)[:300]
    diagnostics = r.get_json()["issue"][0]["diagnostics"]
    assert "conditions" in diagnostics


def test_a_sent_failed_search_is_fetched_again_from_the_fhir_server(tmp_path):
    """With a fhirServer, a sent error-only searchset is not the answer: the server's is."""
    with ByPath({"Condition": searchset(*CES)}) as server:
        app = new_app(Settings(dev=True, auth_enabled=False, database_url=f"sqlite:///{tmp_path}/fb.db",
                               fhir_allowlist=(server.base_url,))).test_client()
        r = call(app, fhir_server=server.base_url, conditions=UNUSABLE_CONDITIONS["only a fatal OperationOutcome (no mode)"])
    assert ces_topics(r)


def test_pages_that_end_before_the_searchs_total_are_read_as_partial(tmp_path):
    """Every path checks `total`: here the sent first page links to a last page, and both hold
    two of the five Conditions the search matched. The two are read (the CES card fires on them)
    and the record-incomplete card says the rest was not."""
    with ByPath({"Condition?page=2": searchset(CES[1])}) as server:
        app = new_app(Settings(dev=True, auth_enabled=False, database_url=f"sqlite:///{tmp_path}/fb.db",
                               fhir_allowlist=(server.base_url,))).test_client()
        first = {**searchset(CES[0]), "total": 5, "link": [{"relation": "next", "url": f"{server.base_url}/Condition?page=2"}]}
        r = call(app, fhir_server=server.base_url, conditions=first)
        assert server.count > 0
    assert r.status_code == 200, r.get_data(as_text=True)[:300]
    topics = [c["source"]["topic"]["code"] for c in r.get_json()["cards"]]
    assert "record-incomplete" in topics and "cauda-equina-emergency" in topics


# Second attack round (a tester given the README, not the tests): each of these made another
# patient's cauda equina conditions count for p1 before.

def export(full_url: str, first: dict, second: dict, *conditions: dict) -> dict:
    """A searchset in which one fullUrl is given to two Patients, as a mixed-up export would."""
    return {"resourceType": "Bundle", "type": "searchset",
            "entry": [{"fullUrl": full_url, "resource": first, "search": {"mode": "include"}},
                      {"fullUrl": full_url, "resource": second, "search": {"mode": "include"}},
                      *({"resource": c} for c in conditions)]}


@pytest.mark.parametrize("order", ["ours first", "theirs first"])
def test_a_full_url_given_to_two_patients_resolves_to_neither(client, order):
    uid = "urn:uuid:0f3c1a52-9f6e-4d33-8a34-2c1f5f0b7e11"
    ours, theirs = PATIENT, {"resourceType": "Patient", "id": "p2"}
    pair = (ours, theirs) if order == "ours first" else (theirs, ours)
    conditions = export(uid, *pair, condition("x1", "M54.16", uid), condition("x2", "R33.9", uid))
    r = call(client, conditions=conditions)
    assert r.status_code == 412, r.get_data(as_text=True)[:300]  # nothing in the key is p1's


def test_a_reference_and_an_identifier_naming_two_patients_is_neither(client):
    theirs = {"reference": f"Patient/{PID}", "identifier": {"system": "urn:oid:1.2.3", "value": "MRN-2"}}
    conditions = [{**c, "subject": theirs} for c in CES]
    assert call(client, conditions=searchset(*conditions)).status_code == 412


def test_a_draft_naming_another_patient_in_an_element_r4_does_not_have_is_refused(client):
    draft = {"resourceType": "ServiceRequest", "id": "d1", "status": "draft", "intent": "order",
             "patient": {"reference": "Patient/p2"},
             "code": {"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": "72148"}]},
             "reasonCode": [{"coding": [{"system": ICD, "code": "R33.9"}]}, {"coding": [{"system": ICD, "code": "M54.16"}]}]}
    r = call(client, OS, context={"draftOrders": {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": draft}]}},
             conditions=None)
    assert r.status_code == 400, r.get_data(as_text=True)[:300]


def test_a_key_whose_own_resources_are_all_someone_elses_is_412_even_beside_an_included_patient(client):
    conditions = {"resourceType": "Bundle", "type": "searchset",
                  "entry": [{"resource": PATIENT, "search": {"mode": "include"}},
                            *({"resource": condition(c["id"], c["code"]["coding"][0]["code"], "Patient/p2")} for c in CES)]}
    r = call(client, conditions=conditions)
    assert r.status_code == 412, r.get_data(as_text=True)[:300]
