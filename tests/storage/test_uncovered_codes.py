"""Codes seen in traffic that no value set holds (issue #19): listed in explain mode, counted per
call in the store on SQLite and PostgreSQL, and reported by `nerve-cds cards uncovered`; codes and
displays only, never the patient."""
from __future__ import annotations

import copy
import json
from datetime import date

from click.testing import CliRunner

from cds_service.core.settings import Settings
from cds_service.tools.cli import main
from cds_service.workbench.cases import Case, noon, run_case
from tests.helpers.apps import new_app, shipped_library
from tests.helpers.calls import CES, SERVICE, hook

LOCAL = "http://ehr.example.org/CodeSystem/problems"
PATIENT = "p-uncovered-7"


def prefetch() -> dict:
    data = copy.deepcopy(CES)
    entries = data["conditions"]["entry"]
    entries.append({"resource": {
        "resourceType": "Condition", "id": "local-1", "subject": {"reference": f"Patient/{PATIENT}"},
        "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]},
        "code": {"coding": [{"system": LOCAL, "code": "LBP-9", "display": "Back ache, lower"},
                            {"system": "urn:oid:2.16.840.1.113883.6.96", "code": "279039007"}]}}})
    data["observations"] = {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": {
        "resourceType": "Observation", "id": "o-1", "status": "final", "subject": {"reference": f"Patient/{PATIENT}"},
        "code": {"coding": [{"system": "urn:oid:2.16.840.1.113883.6.1", "code": "8480-6", "display": "Systolic BP"}]},
        "valueQuantity": {"value": 120}}}]}
    return data


def request() -> dict:
    return hook(context={"userId": "Practitioner/dr-a", "patientId": PATIENT}, prefetch=prefetch())


def test_explain_lists_the_codes_no_value_set_holds_canonical_and_without_the_patient():
    library = shipped_library()
    body = request()
    case = Case("uncovered", "patient-view", {**body["context"], "hookInstance": body["hookInstance"]}, body["prefetch"])
    listed = run_case(library, case, noon(date.today())).report["uncovered"]
    assert {"system": LOCAL, "code": "LBP-9", "display": "Back ache, lower"} in listed
    assert {"system": "http://loinc.org", "code": "8480-6", "display": "Systolic BP"} in listed  # OID made canonical
    codes = {row["code"] for row in listed}
    assert "279039007" not in codes and "G83.4" not in codes  # in value sets: not listed
    assert PATIENT not in json.dumps(listed)


def test_each_call_counts_once_in_the_store_and_the_cli_reports_it(database_url):
    app = new_app(Settings(dev=True, auth_enabled=False, database_url=database_url))
    client = app.test_client()
    for _ in range(3):
        assert client.post(SERVICE, json=request()).status_code == 200
    store = app.extensions["nerve_cds.storage"].uncovered
    store.flush()
    rows = {(s, c): (d, n) for s, c, d, n in store.counts()}
    assert rows[(LOCAL, "LBP-9")] == ("Back ache, lower", 3)
    assert rows[("http://loinc.org", "8480-6")] == ("Systolic BP", 3)
    assert not any(code in ("279039007", "G83.4") for _, code in rows)
    assert PATIENT not in repr(rows)

    result = CliRunner().invoke(main, ["cards", "uncovered", "--json"], env={"NERVE_CDS_DATABASE_URL": database_url})
    assert result.exit_code == 0, result.output
    listed = json.loads(result.output)
    assert {"system": LOCAL, "code": "LBP-9", "display": "Back ache, lower", "calls": 3} in listed
    text = CliRunner().invoke(main, ["cards", "uncovered"], env={"NERVE_CDS_DATABASE_URL": database_url})
    assert text.exit_code == 0 and f"      3  {LOCAL} | LBP-9 | Back ache, lower" in text.output


def test_every_coded_element_is_read_for_uncovered_codes_not_only_the_code():
    """A code sent in a body site, an answer, a component or a drug is reported like one in `code`."""
    library = shipped_library()
    body = request()
    subject = {"reference": f"Patient/{PATIENT}"}
    body["prefetch"]["observations"]["entry"].append({"resource": {
        "resourceType": "Observation", "id": "o-2", "status": "final", "subject": subject,
        "code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]},
        "bodySite": {"coding": [{"system": LOCAL, "code": "SITE-1"}]},
        "valueCodeableConcept": {"coding": [{"system": LOCAL, "code": "ANSWER-1"}]},
        "component": [{"code": {"coding": [{"system": LOCAL, "code": "PART-1"}]},
                       "valueCodeableConcept": {"coding": [{"system": LOCAL, "code": "PART-ANSWER-1"}]}}]}})
    body["prefetch"]["medicationRequests"] = {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": {
        "resourceType": "MedicationRequest", "id": "m-1", "status": "active", "intent": "order", "subject": subject,
        "medicationCodeableConcept": {"coding": [{"system": LOCAL, "code": "DRUG-1"}]}}}]}
    case = Case("uncovered", "patient-view", {**body["context"], "hookInstance": body["hookInstance"]}, body["prefetch"])
    codes = {row["code"] for row in run_case(library, case, noon(date.today())).report["uncovered"]}
    assert {"SITE-1", "ANSWER-1", "PART-1", "PART-ANSWER-1", "DRUG-1"} <= codes
