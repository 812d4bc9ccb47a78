"""The card library as data: a broken file says where and what; rendered cards keep their promises."""
from __future__ import annotations

import re
import shutil
from datetime import date

import pytest
from click.testing import CliRunner

from cds_service.core.settings import Settings
from cds_service.data.scenarios import list_scenarios, load_scenario
from cds_service.library.loader import LibraryError, load_library
from cds_service.tools.cli import main
from cds_service.tools.compare import compare
from tests.helpers.apps import shipped_library
from tests.helpers.scenarios import scenario_advice

SETTINGS = Settings()
TODAY = date.today()


@pytest.fixture(scope="module")
def library():
    return shipped_library()


def copy_cards(tmp_path):
    target = tmp_path / "cards"
    shutil.copytree(SETTINGS.cards_dir, target)
    return target


BREAKAGES = [
    ("rules/cauda-equina.yaml", "- present: cauda-equina-syndrome", "- present: cauda-equina-syndrom",
     "cards/rules/cauda-equina.yaml: rules[0].when.any[0].all[0].present: unknown finding 'cauda-equina-syndrom'"),
    ("rules/cauda-equina.yaml", "days: ces_recent_days", "days: ces_recent_dayz",
     "cards/rules/cauda-equina.yaml: rules[0].when.any[1].all[0].any[0].onset_within.days: unknown setting 'ces_recent_dayz'"),
    ("rules/motor.yaml", "indicator: warning", "indicator: urgent",
     "cards/rules/motor.yaml: rules[0].indicator: 'urgent' is not one of ['info', 'warning', 'critical']"),
    ("rules/motor.yaml", "- {order: neurology-referral, recommended: true}", "- {order: neurology, recommended: true}",
     "cards/rules/motor.yaml: rules[0].card.suggestions[0].order: unknown order 'neurology' (see cards/orders.yaml)"),
    ("rules/imaging.yaml", "- present: radiculopathy-cervical", "- presnt: radiculopathy-cervical",
     "cards/rules/imaging.yaml: rules[1].when.all[0]: unknown condition 'presnt'"),
    ("rules/conservative.yaml", "sources: [nice-ng59,", "sources: [nice-ng95,",
     "cards/rules/conservative.yaml: rules[0].card.sources[0]: unknown source 'nice-ng95' (see cards/sources.yaml)"),
    ("settings.yaml", "value: 42", "value: -42", "cards/settings.yaml: thresholds.imaging_after_days.value: -42 is less than or equal to the minimum of 0"),
    ("rules/fasciculation.yaml", "topic: benign-fasciculation", "topic: benign-twitch",
     "cards/rules/fasciculation.yaml: rules[1].topic: unknown card topic 'benign-twitch'"),
    ("rules/fasciculation.yaml", "rules:\n", "rules:\n  - [\n", "cards/rules/fasciculation.yaml: not valid YAML at line"),
    ("rules/cauda-equina.yaml", "{triggers}", "{trigers}",
     "cards/rules/cauda-equina.yaml: rules[0].card.detail: no value for placeholder {trigers}"),
    ("rules/cauda-equina.yaml", "{triggers}", "{triggers",
     "cards/rules/cauda-equina.yaml: rules[0].card.detail: expected '}' before end of string"),
    ("orders.yaml", "label: ", "label: Order {mri_kind} ",
     "cards/orders.yaml: orders.mri-lumbar-stat.label: no value for placeholder {mri_kind}"),
    ("rules/fasciculation.yaml", "when: {lab_low: {labs: potassium,", "when: {lab_low: {labs: potasium,",
     "cards/rules/fasciculation.yaml: rules[0].card.suggestions[0].when.lab_low.labs: unknown lab 'potasium'"),
    ("rules/electrodiagnostic.yaml", "conclusion: imaging-not-diagnostic", "conclusion: imaging-normal",
     "cards/rules/electrodiagnostic.yaml: rules[1].when.all[3].any[0].study.conclusion: unknown value set 'imaging-normal'"),
    ("rules/cauda-equina.yaml", "days: ces_recent_days, unknown_counts: false", "days: ces_recent_days, unknown_count: false",
     "cards/rules/cauda-equina.yaml: rules[0].when.any[1].all[0].any[1].onset_within: unknown key 'unknown_count' "
     "(allowed: findings, days, unknown_counts)"),
    ("rules/cauda-equina.yaml", "unknown_counts: false", "unknown_counts: no way",
     "cards/rules/cauda-equina.yaml: rules[0].when.any[1].all[0].any[1].onset_within.unknown_counts: must be true or false"),
    ("rules/cauda-equina.yaml", "kinds: spinal-decompression, state: done", "kinds: spinal-decompression, state: finished",
     "cards/rules/cauda-equina.yaml: rules[0].when.any[0].all[1].any[1].all[1].any[0].not.study.state: must be one of any, done, open"),
    ("rules/cauda-equina.yaml", "priority_not: stat", "priority_not: STAT",
     "cards/rules/cauda-equina.yaml: rules[0].variants[0].when.all[0].draft.priority_not: must be one of routine, urgent, asap, stat"),
    ("rules/orders.yaml", 'label: "Remove the duplicate draft order"', 'label: ""',
     "cards/rules/orders.yaml: rules[0].card.suggestions[0].label: '' should be non-empty"),
    ("findings.yaml", "  - thiazide\n  - loop-diuretic\n  - systemic", "  - systemic",
     "cards/findings.yaml: contributor_medications: not listed under medications, so never read"),
    ("orders.yaml", 'code: "72146"', 'code: " 72146 "',
     "cards/orders.yaml: orders.mri-whole-spine-emergency.requests[1]: not a valid R4 ServiceRequest"),
    ("rules/conservative.yaml", "population: {min_age: adult_min_age}", "population: {min_age: adult_age}",
     "cards/rules/conservative.yaml: rules[0].population.min_age: unknown setting 'adult_age'"),
    ("rules/conservative.yaml", "population: {min_age: adult_min_age}", "population: {min_age: adult_min_age, pregnant: no}",
     "cards/rules/conservative.yaml: rules[0].population: unknown key 'pregnant' (allowed: min_age, pregnancy)"),
    ("rules/conservative.yaml", "- when: {pregnant: true}", "- when: {pregnant: yes please}",
     "cards/rules/conservative.yaml: rules[0].variants[0].when.pregnant: must be true or false"),
    ("context.yaml", "mri-lumbar-contrast-urgent: mri-lumbar-urgent", "mri-lumbar-contrast-urgent: mri-lumbar-urgnt",
     "cards/context.yaml: pregnancy.without_contrast.mri-lumbar-contrast-urgent: unknown order 'mri-lumbar-urgnt'"),
    ("context.yaml", "protected_priorities: [urgent, asap, stat]", "protected_priorities: [urgent, asap, STAT]",
     "cards/context.yaml: orders.protected_priorities[2]: 'STAT' is not one of"),
    ("context.yaml", "finding: pregnancy ", "finding: pregnant ",
     "cards/context.yaml: pregnancy.finding: unknown finding 'pregnant'"),
    ("context.yaml", '{study} is suggested', '{studies} is suggested',
     "cards/context.yaml: orders.merged_remark: must name {study} and {card}"),
]


@pytest.mark.parametrize("file, old, new, message", BREAKAGES, ids=[b[3].split(":")[0] + ":" + b[1][:20] for b in BREAKAGES])
def test_a_broken_file_names_file_place_and_problem(tmp_path, file, old, new, message):
    cards = copy_cards(tmp_path)
    path = cards / file
    assert old in path.read_text()
    path.write_text(path.read_text().replace(old, new, 1))
    with pytest.raises(LibraryError) as err:
        load_library(cards)
    assert str(err.value).startswith(message)
    result = CliRunner().invoke(main, ["cards", "validate", str(cards)])
    file, _, rest = message.partition(": ")
    assert result.exit_code == 1 and re.search(rf"^{re.escape(file)}:\d+: {re.escape(rest)}", result.output, re.M), result.output


def test_validate_says_a_folder_is_not_a_card_library(tmp_path):
    (tmp_path / "settings.yaml").write_text("thresholds: {}\n")
    result = CliRunner().invoke(main, ["cards", "validate", str(tmp_path)])
    assert result.exit_code == 1
    assert result.output.strip() == f"INVALID: {tmp_path} is not a card library folder (no services.yaml)"


def test_validate_accepts_the_shipped_library():
    result = CliRunner().invoke(main, ["cards", "validate"])
    assert result.exit_code == 0 and result.output.startswith("OK:")


def all_cards(library):
    for sid in list_scenarios(SETTINGS.fixtures_dir):
        yield sid, scenario_advice(library, load_scenario(SETTINGS.fixtures_dir, sid, TODAY), TODAY)


def test_rendered_cards_keep_their_promises(library):
    from fhir.resources.R4B.servicerequest import ServiceRequest
    seen_topics = set()
    for sid, cards in all_cards(library):
        for card in cards:
            seen_topics.add(card["source"]["topic"]["code"])
            assert len(card["summary"]) < 140, (sid, card["summary"])
            assert "{" not in card["summary"] + card["detail"], "unfilled placeholder"
            assert card["links"] and all(link["url"].startswith("https://") for link in card["links"]), "cites its sources as links"
            assert re.search(r"\((Condition|Observation|Procedure|ImagingStudy|DiagnosticReport|reason on ServiceRequest/\S+), (\d{4}-\d{2}-\d{2}|date not recorded)\)", card["detail"]), "names dated triggers"
            for suggestion in card.get("suggestions", []):
                codes = []
                for action in suggestion["actions"]:
                    if action["type"] == "delete":
                        assert "resource" not in action and action["resourceId"].startswith("ServiceRequest/")
                        continue
                    resource = ServiceRequest.model_validate(action["resource"])
                    assert resource.subject.reference == f"Patient/{sid}-patient"
                    codes += [c["code"] for c in action["resource"]["code"]["coding"]]
                if any("95907" <= c <= "95913" for c in codes):  # an NCS is never suggested without its EMG
                    assert any(c in ("95885", "95886", "95887") for c in codes), "NCS and needle EMG travel together"
                if any(c in ("95885", "95886", "95887") for c in codes) and not any("95907" <= c <= "95913" for c in codes):
                    assert card["source"]["topic"]["code"] == "ncs-without-emg", "EMG alone only as the add-on to a drafted NCS"
    assert seen_topics >= {"cauda-equina-emergency", "cauda-equina-urgent", "motor-neuron-disease-referral", "progressive-deficit",
                           "radiculopathy-imaging", "electrodiagnostic-testing", "conservative-management",
                           "benign-fasciculation", "electrolyte-contributor"}


def test_ces_mri_suggestion_is_stat_with_reasons(library):
    scenario = load_scenario(SETTINGS.fixtures_dir, "s03-classic-cauda-equina", TODAY)
    cards = dict(all_cards(library))["s03-classic-cauda-equina"]
    (card,) = cards
    resource = card["suggestions"][0]["actions"][0]["resource"]
    assert resource["priority"] == "stat" and resource["code"]["coding"][0]["code"] == "72148"
    assert resource["bodySite"][0]["coding"][0]["code"] == "122496007"
    reasons = {r["reference"] for r in resource["reasonReference"]}
    assert {"Observation/s03-classic-cauda-equina-o4", "Observation/s03-classic-cauda-equina-o5"} <= reasons
    assert resource["requester"] == {"reference": "Practitioner/nerve-cds-demo-clinician"}
    assert resource["encounter"] == {"reference": f"Encounter/{scenario.request['context']['encounterId']}"}


def test_threshold_change_lists_the_scenarios_that_change(tmp_path, library):
    cards = copy_cards(tmp_path)
    settings = cards / "settings.yaml"
    settings.write_text(settings.read_text().replace("value: 42", "value: 70", 1))
    changed = {d.scenario for d in compare(library, load_library(cards), SETTINGS.fixtures_dir, TODAY)}
    assert {"s02-persistent-radiculopathy-after-pt", "s14-cervical-radiculopathy-7-weeks"} <= changed
    assert "s03-classic-cauda-equina" not in changed
    result = CliRunner().invoke(main, ["cards", "diff", "--cards-dir", str(cards)])
    assert result.exit_code == 4 and "s02-persistent-radiculopathy-after-pt" in result.output
    assert "scenario(s) change" in result.output
    same = CliRunner().invoke(main, ["cards", "diff", "--cards-dir", str(SETTINGS.cards_dir)])
    assert same.exit_code == 0 and "No scenario's cards change." in same.output


def test_unchanged_library_changes_nothing(library):
    assert compare(library, library, SETTINGS.fixtures_dir, TODAY) == []


def test_no_rule_text_claims_there_are_no_red_flags(library):
    """docs/clinical-safety.md "never claim what was not checked": say what was checked, list the rest."""
    assert library.rules
    for rule in library.rules:
        for text in (rule.text, *(v.text for v in rule.variants)):
            words = (text.summary + " " + text.detail).lower()
            assert "no red flags" not in words and "without red flags" not in words, rule.id
