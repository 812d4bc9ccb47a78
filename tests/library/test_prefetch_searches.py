"""The Condition and Observation prefetch templates are made from cards/ and reach every code the
rules read (issue #19): a value set added to a finding, a lab or a measurement without regenerating
the templates fails here, so no finding becomes unreachable."""
from __future__ import annotations

import json
import shutil
from pathlib import Path
from urllib.parse import quote

import requests
import yaml
from click.testing import CliRunner

from cds_service.core.settings import Settings
from cds_service.library.loader import load_library
from cds_service.library.searches import MAX_QUERY, owned, searches, unreachable
from cds_service.tools.cli import main
from cds_service.tools.prefetch_templates import rewrite
from tests.helpers.apps import shipped_library

CARDS = Settings().cards_dir


def test_shipped_templates_are_the_generated_ones():
    library = shipped_library()
    made = searches(library)
    for service in library.services:
        ours = {k: v for k, v in service.prefetch.items() if owned(library).match(k)}
        assert ours == made, f"{service.id}: run `nerve-cds cards prefetch --write`"


def test_no_code_the_rules_read_is_out_of_reach():
    library = shipped_library()
    for service in library.services:
        assert unreachable(library, service.prefetch) == [], service.id
        assert all(len(t) <= MAX_QUERY for t in service.prefetch.values())


def test_a_new_value_set_outside_the_templates_is_reported(tmp_path):
    """What happens when clin-mimics (or anyone) adds a code: the check names it until regenerated."""
    cards = tmp_path / "cards"
    shutil.copytree(CARDS, cards)
    path = cards / "valuesets" / "urinary-retention.json"
    vs = json.loads(path.read_text())
    vs["compose"]["include"].append({"system": "http://snomed.info/sct", "concept": [
        {"code": "999999991", "display": "Retention (test)",
         "extension": [{"url": "http://example.org/nerve-cds/StructureDefinition/code-verification", "valueCode": "unverified"}]}]})
    vs.pop("expansion", None)
    path.write_text(json.dumps(vs))
    library = load_library(cards)
    before = library.service("nerve-cds-patient-view").prefetch
    assert unreachable(library, before) == [
        "http://snomed.info/sct|999999991 (finding urinary-retention) is in no Observation search"]
    assert unreachable(library, searches(library)) == []


def test_unfiltered_or_code_filtered_conditions_are_reported():
    library = shipped_library()
    templates = dict(library.service("nerve-cds-patient-view").prefetch)
    templates["conditions"] = "Condition?patient={{context.patientId}}&code=R33.9"
    assert any("Conditions must be searched by patient alone" in p for p in unreachable(library, templates))
    templates["conditions"] = "Condition?patient={{context.patientId}}"
    templates["observations"] = "Observation?patient={{context.patientId}}&category=exam"
    assert any("(finding urinary-retention)" in p for p in unreachable(library, templates))


def test_every_required_searchset_key_has_the_record_incomplete_card():
    """A required key is only ever missing when read in part; DQ-2 must say so for each."""
    library = shipped_library()
    dq2 = next(r for r in library.rules if r.id == "DQ-2")
    named = set(yaml.safe_load((CARDS / "rules" / "data-quality.yaml").read_text())["rules"][1]["when"]["data_missing"])
    assert dq2.topic == "record-incomplete"
    for service in library.services:
        paged = {k for k in service.required_prefetch if "?" in service.prefetch[k]}
        assert paged <= named, f"{service.id}: add {sorted(paged - named)} to DQ-2's data_missing"


def test_rewrite_keeps_other_keys_and_splits_long_lists(tmp_path):
    cards = tmp_path / "cards"
    shutil.copytree(CARDS, cards)
    services = cards / "services.yaml"
    text = services.read_text().replace(
        '      patient: "Patient/{{context.patientId}}"\n',
        '      patient: "Patient/{{context.patientId}}"\n      devices: "Device?patient={{context.patientId}}"\n')
    text = text.replace("  patient: {action: fail}\n", "  patient: {action: fail}\n  devices: {action: continue, note: \"devices\"}\n")
    services.write_text(text)
    result = CliRunner().invoke(main, ["cards", "prefetch", str(cards), "--write", "--max-length", "1000"])
    assert result.exit_code == 0, result.output
    library = load_library(cards)
    prefetch = library.service("nerve-cds-order-sign").prefetch
    assert prefetch["devices"] == "Device?patient={{context.patientId}}"
    assert {"observations2", "observations3"} <= set(prefetch) and all(len(t) <= 1000 for t in prefetch.values())
    assert "observations2" in library.service("nerve-cds-order-sign").required_prefetch
    assert unreachable(library, prefetch) == []
    comments = [line for line in services.read_text().splitlines() if line.startswith("#")]
    assert comments == [line for line in CARDS.joinpath("services.yaml").read_text().splitlines() if line.startswith("#")]
    again = services.read_text()  # a second run with the default length merges the keys back
    assert CliRunner().invoke(main, ["cards", "prefetch", str(cards), "--write"]).exit_code == 0
    assert "observations2:" not in services.read_text() and again != services.read_text()
    library = load_library(cards)
    assert rewrite(services.read_text(), searches(library), owned(library)) == services.read_text()


def test_cli_prints_the_templates_and_refuses_a_broken_library_in_one_line(tmp_path):
    result = CliRunner().invoke(main, ["cards", "prefetch", str(CARDS)])
    assert result.exit_code == 0
    assert [line.split(":", 1)[0] for line in result.output.splitlines()] == list(searches(shipped_library()))
    broken = tmp_path / "cards"
    shutil.copytree(CARDS, broken)
    (broken / "findings.yaml").write_text("version: 1\nfindings: 3\n")
    result = CliRunner().invoke(main, ["cards", "prefetch", str(broken)])
    assert result.exit_code == 2 and "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1


def test_the_test_fhir_server_answers_every_template(fhir_base_url):
    """sekmet-fhir refuses a search parameter it does not support under handling=strict."""
    for service in shipped_library().services:
        for key, template in service.prefetch.items():
            url = f"{fhir_base_url}/{template.replace('{{context.patientId}}', quote('nobody'))}"
            r = requests.get(url, headers={"Prefer": "handling=strict", "Accept": "application/fhir+json"}, timeout=10)
            assert r.status_code in (200, 404), (key, r.status_code, r.text[:300])
    refused = requests.get(f"{fhir_base_url}/Observation?patient=nobody&code:in=http://example.org/ValueSet/x",
                           headers={"Prefer": "handling=strict", "Accept": "application/fhir+json"}, timeout=10)
    assert refused.status_code == 400  # the check can fail: sekmet does not support code:in


def test_templates_are_shown_in_discovery():
    service = shipped_library().service("nerve-cds-patient-view")
    assert "code=" in service.discovery()["prefetch"]["observations"]
    assert Path(CARDS / "services.yaml").read_text().count("Observation?patient={{context.patientId}}&_count") == 0
