"""The scenario fixtures themselves: dates that stay true on any day, ids and references that any
R4 server accepts (with or without a prefix), codes the card library knows, expectations that
name real topics, and every docs/clinical-safety.md scenario and rule branch covered."""
from __future__ import annotations

import json
import re
from datetime import date

import pytest
import simple_icd_10_cm
import yaml

from cds_service.core.settings import Settings
from cds_service.data.scenarios import RELATIVE, concrete_date, list_scenarios, load_scenario
from cds_service.library.coverage import read_gps
from tests.helpers.apps import shipped_library
from tests.helpers.paths import GPS_FILE

SETTINGS = Settings()
SCENARIOS = list_scenarios(SETTINGS.fixtures_dir)
TOPICS = frozenset(shipped_library().presentation.topics)
# Topics no rule raises on patient-view: the order-stewardship cards.
ORDER_ONLY = TOPICS - {rule.topic for rule in shipped_library().rules if "patient-view" in rule.hooks}
CLINICAL_SYSTEMS = {"http://hl7.org/fhir/sid/icd-10-cm", "http://snomed.info/sct", "http://loinc.org",
                    "http://www.ama-assn.org/go/cpt"}
FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")


def raw(sid: str, name: str):
    return json.loads((SETTINGS.fixtures_dir / "fhir" / sid / name).read_text(encoding="utf-8"))


def leaves(value, path=()):
    """(path, value) for every scalar in a JSON tree."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from leaves(item, path + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from leaves(item, path + (index,))
    else:
        yield path, value


def at(tree, path):
    for key in path:
        tree = tree[key]
    return tree


def codings(tree):
    if isinstance(tree, dict):
        if "system" in tree and "code" in tree:
            yield tree["system"], tree["code"]
        for item in tree.values():
            yield from codings(item)
    elif isinstance(tree, list):
        for item in tree:
            yield from codings(item)


@pytest.mark.parametrize("sid", SCENARIOS)
def test_every_date_is_relative_and_moves_with_today(sid):
    """No hard-coded date can rot; each @T token lands the same distance from any today."""
    one_day, other_day = date(2026, 1, 15), date(2031, 8, 3)
    for name in ("bundle.json", "request.json"):
        source = raw(sid, name)
        one = load_scenario(SETTINGS.fixtures_dir, sid, one_day)
        other = load_scenario(SETTINGS.fixtures_dir, sid, other_day)
        key = "bundle" if name == "bundle.json" else "request"
        for path, value in leaves(source):
            if not isinstance(value, str):
                continue
            assert not re.match(r"^\d{4}-\d{2}", value), f"{name} {path}: absolute date {value!r}; write @T-Nd"
            if not value.startswith("@T"):
                continue
            match = RELATIVE.match(value)
            assert match, f"{name} {path}: malformed token {value!r}"
            amount, unit = int(match.group(1)), match.group(2)
            first = date.fromisoformat(at(getattr(one, key), path)[:10])
            second = date.fromisoformat(at(getattr(other, key), path)[:10])
            if unit == "d":
                assert (one_day - first).days == (other_day - second).days == -amount, (name, path)
            else:
                assert one_day.year - first.year == other_day.year - second.year == -amount, (name, path)
            assert at(getattr(one, key), path)[10:] == (match.group(3) or ""), "the time of day is kept"


def test_a_malformed_date_token_is_an_error_naming_it():
    with pytest.raises(ValueError, match="'@T-14 d'"):
        concrete_date("@T-14 d", date(2026, 1, 15))
    assert concrete_date("@T+3dT08:30:00+02:00", date(2026, 12, 30)) == "2027-01-02T08:30:00+02:00"
    assert concrete_date("@T-1y", date(2028, 2, 29)) == "2027-02-28", "29 February has no twin a year earlier"


@pytest.mark.parametrize("prefix", ["", "jd.nerv-"])  # ids leave room for an 8-character prefix
@pytest.mark.parametrize("sid", SCENARIOS)
def test_ids_and_references_hold_together(sid, prefix):
    """PUT urls match the ids; every reference points into the bundle (HAPI enforces referential
    integrity in a transaction); the hook context names the bundle's patient; all of it under a prefix."""
    scenario = load_scenario(SETTINGS.fixtures_dir, sid, date.today(), prefix)
    entries = scenario.bundle["entry"]
    keys = {f"{e['resource']['resourceType']}/{e['resource']['id']}" for e in entries}
    assert len(keys) == len(entries) and len({e["fullUrl"] for e in entries}) == len(entries)
    for entry in entries:
        ident = entry["resource"]["id"]
        assert FHIR_ID.match(ident) and ident.startswith(prefix + sid.split("-")[0]), ident
        assert entry["request"] == {"method": "PUT", "url": f"{entry['resource']['resourceType']}/{ident}"}
    references = [v for p, v in leaves(scenario.bundle) if p[-1] == "reference"]
    assert set(references) <= keys, f"dangling: {set(references) - keys}"
    context = scenario.request["context"]
    assert f"Patient/{context['patientId']}" in keys
    assert context["encounterId"].startswith(prefix + sid)
    drafts = context.get("draftOrders", {}).get("entry", [])
    draft_keys = {f"{d['resource']['resourceType']}/{d['resource']['id']}" for d in drafts}
    assert set(context.get("selections", [])) <= draft_keys
    for draft in drafts:
        subject = draft["resource"].get("subject")
        assert subject is None or subject["reference"] == f"Patient/{context['patientId']}"


@pytest.mark.parametrize("sid", SCENARIOS)
def test_resources_follow_the_scenario_conventions(sid):
    """docs/clinical-safety.md conventions: Conditions carry coded statuses (unless a hygiene scenario omits
    one on purpose), Observations are final unless H1/H2 is under test."""
    scenario = load_scenario(SETTINGS.fixtures_dir, sid, date.today())
    hygiene = scenario.expected["clinical"] in ("S8", "H1", "H2")
    for entry in scenario.bundle["entry"]:
        resource = entry["resource"]
        if resource["resourceType"] == "Condition":
            statuses = [resource.get("clinicalStatus"), resource["verificationStatus"]]
            assert hygiene or statuses[0], f"{resource['id']}: clinicalStatus"
            systems = {c["system"] for s in statuses if s for c in s["coding"]}
            assert systems <= {"http://terminology.hl7.org/CodeSystem/condition-clinical",
                               "http://terminology.hl7.org/CodeSystem/condition-ver-status"}
        if resource["resourceType"] == "Observation":
            assert hygiene or resource["status"] == "final", resource["id"]
            assert "valueString" not in resource, "negatives are valueBoolean false, never free text"


def test_every_clinical_code_in_the_fixtures_is_real_and_known_to_the_card_library():
    terminology = shipped_library().terminology
    gps = read_gps(GPS_FILE)
    problems = []
    for sid in SCENARIOS:
        scenario = load_scenario(SETTINGS.fixtures_dir, sid, date.today())
        for system, code in set(codings(scenario.bundle)) | set(codings(scenario.request)):
            if system not in CLINICAL_SYSTEMS:
                continue
            if not terminology.concepts_for(system, code):
                problems.append(f"{sid}: {system}|{code} is in no value set, so no rule can see it")
            if system.endswith("icd-10-cm") and not simple_icd_10_cm.is_valid_item(code):
                problems.append(f"{sid}: {code} is not ICD-10-CM")
            unverified = {vs for vs in terminology.concepts_for(system, code)
                          if (system, code) in terminology.valuesets[vs].unverified}
            if system == "http://snomed.info/sct" and code not in gps and not unverified:
                problems.append(f"{sid}: SNOMED {code} neither in GPS 2020 nor marked unverified in a value set")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("sid", SCENARIOS)
def test_expectations_name_real_topics_and_say_why(sid):
    expected = yaml.safe_load((SETTINGS.fixtures_dir / "fhir" / sid / "expected.yaml").read_text(encoding="utf-8"))
    assert expected["id"] == sid
    assert expected["title"] and expected["clinical"] and expected["why"]
    fire = {item["topic"] for item in expected["fire"]}
    must_not = set(expected.get("must_not_fire", []))
    assert fire | must_not <= TOPICS and not fire & must_not
    assert len(fire) == len(expected["fire"]), "one expectation per topic"
    assert {item["indicator"] for item in expected["fire"]} <= {"info", "warning", "critical"}
    assert all(set(item) <= {"topic", "indicator", "actions", "creates", "details_include", "details_exclude"}
               for item in expected["fire"])
    assert set(expected) <= {"id", "title", "clinical", "why", "fire", "must_not_fire", "never_actions",
                             "summaries_exclude", "summaries_include", "created_codes_exclude"}, "a key no test reads"
    assert set(expected.get("never_actions", [])) <= {"create", "update", "delete"}
    if raw(sid, "request.json")["hook"] == "patient-view":
        assert not fire & ORDER_ONLY, "order stewardship topics belong to order hooks"


REQUIRED = {
    # docs/clinical-safety.md and its variants
    "S1", "S2", "S3", "S4", "S4b", "S5", "S6", "S7", "S7b", "S8", "S9", "S9-H4", "S10", "S11", "S11b", "S12",
    "S13", "S14",
    # one more per rule branch (§1)
    "CES-1 clause 1", "CES-1 clause 4", "CES-2 bullet 1", "CES-2 bullet 2", "IMG-2 variant", "IMG-3 cervical",
    "IMG-4", "EDX-3", "EDX-3 peroneal", "EDX-5", "MND-1 critical", "FAS-BEN variant", "FAS-LAB fallback",
    "FAS-LAB range", "FAS-RAD", "H1", "H2",
    # docs/clinical-safety.md red flags
    "RF-1 cancer", "RF-1 MSCC", "RF-1 fracture", "RF-1 infection", "RF-1 weak alone", "RF-1 order",
    "RF-1 trauma", "RF-1 older age", "RF-1 age threshold", "MYE-1", "MYE-1 R29.2", "MYE-1 order", "MYE-1 diagnosis",
    # CLINICAL §6: context that changes the answer
    "CORD-1 thoracic", "ANW-1 GBS pattern", "RF-1 infection measured", "RF-1 infection escalation",
    "RF-1 post-operative early",
    # CLINICAL §6: population scope, pregnancy, protected orders, the response as a whole
    "§6.6 child", "§6.6 child order", "§6.7 pregnancy NSAID", "§6.7 pregnancy MRI", "§6.14 old pregnancy code",
    "§6.14 urgent order", "§6.12 critical with routine",
    # CLINICAL §6: known mimics and explaining diagnoses
    "RF-1 rigid spine", "RF-1 rigid spine order", "VAS-1 aneurysm", "§6.8 polyneuropathy", "§6.14 claudication",
    "NCR-1 post-herpetic", "MYE-1 explained by stroke", "MYE-1 bilateral beside a stroke",
    # CLINICAL §6.9, §6.14: orders in context
    "§6.9(a) wrong region", "§6.9(b) repeat", "§6.9(c) radiographs", "§6.9(d) MR safety", "§6.9(d) MR safety device",
    "§6.14 NCS for entrapment", "§6.14 silencing",
    # CLINICAL §6.2 related rule (haematoma), §6.14 labour epidural, §1.4 NSAID caution
    "RF-1 haematoma", "RF-1 haematoma no deficit", "RF-1 haematoma old anticoagulant", "§6.14 labour epidural haematoma",
    "CONS-1 NSAID caution age", "CONS-1 NSAID caution kidney",
}


def test_every_clinical_scenario_and_rule_branch_has_a_fixture():
    covered = {load_scenario(SETTINGS.fixtures_dir, sid, date.today()).expected["clinical"] for sid in SCENARIOS}
    assert REQUIRED <= covered, f"missing: {sorted(REQUIRED - covered)}"
