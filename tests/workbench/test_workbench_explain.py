"""Explain: every rule of the hook with its outcome and why, from the same engine run as the cards."""
from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from cds_service.core.settings import Settings
from cds_service.data.scenarios import list_scenarios
from cds_service.engine.advise import advise
from cds_service.tools.cli import main
from cds_service.workbench.cases import fixture_case, noon, parse_request_case, run_case, service_for
from tests.helpers.apps import shipped_library
from tests.helpers.paths import FIXTURES
from tests.helpers.workbench import fired_topics, hook_request

LIBRARY = shipped_library()
TODAY = date.today()


def run(sid):
    return run_case(LIBRARY, fixture_case(FIXTURES, sid, TODAY), noon(TODAY))


@pytest.mark.parametrize("sid", list_scenarios(FIXTURES))
def test_explanation_fired_rules_are_the_cards_of_the_same_run(sid):
    result = run(sid)
    topics = [c["source"]["topic"]["code"] for c in result.cards]
    assert sorted(fired_topics(result.report)) == sorted(topics)  # the response puts the most urgent first
    assert [c["topic"] for c in result.report["cards"]] == topics
    # explain mode changes nothing in the cards
    case = result.case
    plain = advise(LIBRARY, service_for(LIBRARY, case.hook), case.context, case.data, noon(TODAY)).cards
    assert plain == result.cards
    # every rule of the hook is accounted for, once
    hook_rules = [r.id for r in LIBRARY.rules if case.hook in r.hooks]
    assert [r["rule"] for r in result.report["rules"]] == hook_rules


def _leaves(node):
    if "children" in node:
        for child in node["children"]:
            yield from _leaves(child)
    else:
        yield node


def test_ces_card_explained_with_resource_ids_codes_and_dates():
    report = run("s03-classic-cauda-equina").report
    ces = next(r for r in report["rules"] if r["rule"] == "CES-1")
    assert ces["outcome"] == "fired" and ces["indicator"] == "critical" and ces["card"]
    held = [leaf for leaf in _leaves(ces["when"]) if leaf["held"]]
    retention = next(a for leaf in held for a in leaf["about"] if a.get("finding") == "urinary-retention")
    assert retention["state"] == "present" and retention["window"] == "within"
    evidence = retention["evidence"][0]
    assert evidence["reference"] == "Observation/s03-classic-cauda-equina-o4"
    assert evidence["code"] == "http://snomed.info/sct|267064002" and evidence["date"] == TODAY.isoformat()
    threshold = next(a for leaf in held for a in leaf["about"] if "setting" in a)
    assert threshold == {"setting": "ces_recent_days", "value": LIBRARY.settings["ces_recent_days"]}
    # what CES-1 silenced says so, by name
    suppressed = {r["rule"]: r["suppressedBy"] for r in report["rules"] if r["outcome"] == "suppressed"}
    assert suppressed.get("CES-2") == "CES-1" and suppressed.get("CONS-1") == "CES-1"


def test_ignored_statuses_are_listed_with_the_reason():
    aside = {s["reference"]: s["why"] for s in run("s08-ignored-statuses").report["setAside"]}
    assert aside["Condition/s08-ignored-statuses-c1"] == "ignored: verificationStatus is entered-in-error"
    assert aside["Condition/s08-ignored-statuses-c3"] == "ignored: verificationStatus is refuted"
    assert aside["Condition/s08-ignored-statuses-c2"] == "ignored: clinicalStatus is resolved"
    assert aside["Observation/s08-ignored-statuses-o4"] == "ignored: status is entered-in-error"


def test_a_positive_superseded_by_a_later_negative_is_named():
    report = run("s09b-latest-negative-wins").report
    assert {"reference": "Observation/s09b-latest-negative-wins-o2", "finding": "saddle-sensory-loss",
            "why": "superseded by the later negative Observation/s09b-latest-negative-wins-o3"} in report["setAside"]
    assert report["findings"]["saddle-sensory-loss"]["state"] == "negated"


def test_explain_cli_prints_the_rule_outcomes_and_json():
    runner = CliRunner()
    text = runner.invoke(main, ["explain", "s03-classic-cauda-equina"], env={"COLUMNS": "250"})
    assert text.exit_code == 0, text.output
    assert "CES-1 [cauda-equina-emergency] FIRED (critical)" in text.output
    assert "CES-2 [cauda-equina-urgent] SUPPRESSED by CES-1" in text.output
    as_json = runner.invoke(main, ["explain", "s03-classic-cauda-equina", "--json"])
    body = json.loads(as_json.output)
    assert [c["source"]["topic"]["code"] for c in body["cards"]] == fired_topics(body["explanation"])
    unknown = runner.invoke(main, ["explain", "s99-nope"])
    assert unknown.exit_code == 1 and "no scenario 's99-nope'" in unknown.output


def explain_scenario(tmp_path, scenario_id: str) -> tuple[dict, Path, dict]:
    """`nerve-cds explain --request` on a scenario's hook request: (its explanation, the file, the body)."""
    _, body = hook_request(scenario_id, {"services": [s.discovery() for s in LIBRARY.services]})
    path = tmp_path / "request.json"
    path.write_text(json.dumps(body))
    result = CliRunner().invoke(main, ["explain", "--request", str(path), "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)["explanation"], path, body


def test_explain_a_request_file(tmp_path):
    report, path, body = explain_scenario(tmp_path, "x04-ces2-stable-red-flag")
    assert fired_topics(report) == ["cauda-equina-urgent"]
    path.write_text(json.dumps({**body, "prefetch": None}))
    refused = CliRunner().invoke(main, ["explain", "--request", str(path)])
    assert refused.exit_code == 1 and "no 'prefetch' object" in refused.output


def test_explain_a_patient_on_a_fhir_server(fhir_base_url):
    runner = CliRunner()
    loaded = runner.invoke(main, ["fixtures", "load", "--fhir-server", fhir_base_url, "--prefix", "wbx-", "s03-classic-cauda-equina"])
    assert loaded.exit_code == 0, loaded.output
    result = runner.invoke(main, ["explain", "--fhir-server", fhir_base_url, "--patient", "wbx-s03-classic-cauda-equina-patient", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)["explanation"]
    assert fired_topics(report) == ["cauda-equina-emergency"]
    refs = {e["reference"] for f in report["findings"].values() for e in f["evidence"]}
    assert "Observation/wbx-s03-classic-cauda-equina-o4" in refs
    missing = runner.invoke(main, ["explain", "--fhir-server", fhir_base_url, "--patient", "wbx-nobody"])
    assert missing.exit_code == 1 and "wbx-nobody" in missing.output


def test_settings_refuse_an_empty_token_as_a_credential():
    assert Settings.from_env({"NERVE_CDS_WORKBENCH_TOKEN": " "}).workbench_token is None


def test_an_explanation_names_the_medication_a_condition_held_on(tmp_path):
    report, _, _ = explain_scenario(tmp_path, "r04-prednisolone-two-years-back-pain")

    def facts(node):
        yield from node.get("facts", [])
        for child in node.get("children", []):
            yield from facts(child)

    rf1 = next(r for r in report["rules"] if r["topic"] == "serious-spinal-pathology"
               and r["outcome"] == "fired")
    steroid = [f for f in facts(rf1["when"]) if "medication" in f]
    assert steroid and steroid[0]["medication"] == "systemic-corticosteroid" and steroid[0]["active"] is True
    assert steroid[0]["reference"].startswith("MedicationStatement/") and steroid[0]["display"] == "prednisolone"


def test_explain_lists_the_resources_that_are_not_the_patients():
    """A request file run as sent (no gathering): another patient's CES and a subject-less one are
    set aside where the record is built, and the explanation says which and why."""
    def ces(cid, **subject):
        return {"resource": {"resourceType": "Condition", "id": cid, **subject,
                             "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]},
                             "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "G83.4"}]}}}

    ours = ces("ours", subject={"reference": "Patient/p-7"})  # a key with nothing of the patient's left is refused
    ours["resource"]["code"]["coding"][0]["code"] = "M54.16"
    request = {"hook": "patient-view", "context": {"userId": "Practitioner/a", "patientId": "p-7"}, "prefetch": {
        "conditions": {"resourceType": "Bundle", "type": "searchset",
                       "entry": [ces("theirs", subject={"reference": "Patient/p-8"}), ces("nobody"), ours]}}}
    result = run_case(LIBRARY, parse_request_case(json.dumps(request), "foreign"), noon(TODAY))
    assert not [c for c in result.cards if c["source"]["topic"]["code"].startswith("cauda-equina")]
    assert {"reference": "Condition/theirs", "why": "subject names another patient"} in result.report["setAside"]
    assert {"reference": "Condition/nobody", "why": "subject missing"} in result.report["setAside"]


def test_a_routine_card_kept_out_by_a_critical_card_is_explained_as_withheld():
    rules = {r["rule"]: r for r in run("p07-critical-mnd-with-routine-mri").report["rules"]}
    assert rules["MND-1"]["outcome"] == "fired" and rules["MND-1"]["indicator"] == "critical"
    assert rules["IMG-2-LUMBAR"]["outcome"] == "withheld" and "card" not in rules["IMG-2-LUMBAR"]

