"""The SNOMED GPS coverage ledger (cards/coverage.yaml): every GPS concept about the service's
findings is in a value set (with its region and side) or excluded with a reason, so a record coded
with a concept nobody placed cannot silently miss a card."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from cds_service.core.settings import Settings
from cds_service.library.coverage import SNOMED, build_ledger
from cds_service.library.loader import LibraryError
from cds_service.tools.cli import main
from tests.helpers.apps import shipped_library

CARDS = Settings().cards_dir


@pytest.fixture(scope="module")
def ledger():
    return build_ledger(CARDS)


@pytest.fixture()
def cards_copy(tmp_path: Path) -> Path:
    return Path(shutil.copytree(CARDS, tmp_path / "cards"))


def edit_valueset(cards: Path, vs_id: str, drop: str | None = None, add: tuple[str, str] | None = None) -> None:
    path = cards / "valuesets" / f"{vs_id}.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    snomed = next(i for i in data["compose"]["include"] if i["system"] == SNOMED)
    if drop:
        snomed["concept"] = [c for c in snomed["concept"] if c["code"] != drop]
    if add:
        snomed["concept"].append({"code": add[0], "display": add[1]})
    path.write_text(json.dumps(data, indent=1), encoding="utf-8")


def test_every_matching_gps_concept_is_in_a_value_set_or_excluded(ledger):
    missing = sorted(f"{code} {ledger.terms[code]}" for code in ledger.missing)
    assert missing == []
    assert ledger.problems == ()
    assert len(ledger.matched) > 400


def test_counts_add_up_per_topic(ledger):
    for topic in ledger.topics:
        assert topic.matched, f"{topic.topic}: its patterns match no GPS concept"
        assert topic.in_valuesets | topic.excluded | topic.missing == topic.matched
        assert not topic.in_valuesets & topic.excluded


def test_the_gaps_named_in_the_review_are_filled():
    """Concepts a clinic sends that no value set held before the ledger."""
    terms = shipped_library().terminology
    expected = {
        "1121000119107": {"neck-pain"},  # Chronic neck pain: US extension, not in GPS 2020, marked unverified
        "279029001": {"neck-pain", "site-cervical-spine"},           # Pain in cervical spine
        "134407002": {"low-back-pain"},                              # Chronic back pain
        "267982002": {"low-back-pain"},                              # Pain in lumbar spine
        "279040009": {"low-back-pain"},                              # Mechanical low back pain
        "10601006": {"limb-pain-lower", "site-lower-limb"},          # Pain in lower limb: limb pain, not sciatica
        "367399005": {"entrapment-ulnar"},                           # Ulnar nerve palsy
        "274676007": {"paraesthesia"},                               # Tingling of skin
        "309087008": {"paraesthesia", "site-foot"},                  # Paresthesia of foot
        "299042006": {"weakness-objective", "site-hand", "site-upper-limb"},  # Weakness of hand
        "249939004": {"weakness-objective"},                         # Proximal muscle weakness
        "221360009": {"upper-motor-neuron-sign"},                    # Spasticity
        "202664003": {"myelopathy", "site-cervical-spine"},          # Cervical myelopathy
        "266987004": {"malignancy-history"},
        "422868009": {"weight-loss"},
        "386661006": {"fever"},
        "228388006": {"iv-drug-use"},
        "370391006": {"immunosuppression"},
        "64859006": {"osteoporosis"},
        "7006003": {"clumsiness-hands"},
    }
    for code, valuesets in expected.items():
        held = set(terms.concepts_for(SNOMED, code))
        assert valuesets <= held, code  # at least these; a sign may serve two rules (spasticity: MND, MYE-1)
    assert (SNOMED, "1121000119107") in terms.valuesets["neck-pain"].unverified


def test_a_concept_dropped_from_its_value_set_is_reported_missing(cards_copy):
    edit_valueset(cards_copy, "paraesthesia", drop="274676007")
    ledger = build_ledger(cards_copy)
    assert ledger.missing == {"274676007"}
    sensory = next(t for t in ledger.topics if t.topic == "sensory")
    assert sensory.missing == {"274676007"} and not ledger.complete


def test_an_excluded_concept_put_in_a_value_set_is_a_problem(cards_copy):
    edit_valueset(cards_copy, "fever", add=("4834000", "Typhoid fever (disorder)"))
    problems = build_ledger(cards_copy).problems
    assert any(p.startswith("4834000 ") and "excluded but in ['fever']" in p for p in problems)


def test_exclusions_must_be_gps_concepts_with_their_gps_term_and_matched(cards_copy):
    path = cards_copy / "coverage.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["excluded"].append({"reason": "made-up ids for the test", "concepts": {
        "999999999": "Not a concept (finding)",
        "22298006": "Myocardial infarction (disorder)",
        "23056005": "Sciatica of some other kind (disorder)"}})
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    problems = build_ledger(cards_copy).problems
    assert "999999999 is excluded but not in the GPS list" in problems
    assert "22298006 Myocardial infarction (disorder): excluded but no topic matches it" in problems
    assert any(p.startswith("23056005 is excluded as 'Sciatica of some other kind") for p in problems)


def test_a_limb_finding_without_its_site_set_is_a_problem(cards_copy):
    edit_valueset(cards_copy, "site-hand", drop="299042006")
    problems = build_ledger(cards_copy).problems
    assert problems == ("299042006 Weakness of hand (finding): names site-hand but is not in it",)


def test_a_broken_ledger_file_names_the_file_and_place(cards_copy):
    path = cards_copy / "coverage.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    del data["topics"]["fever"]["patterns"]
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(LibraryError, match=r"cards/coverage.yaml: topics.fever: missing required key 'patterns'"):
        build_ledger(cards_copy)


def test_cli_prints_the_ledger_and_fails_on_a_gap(cards_copy):
    runner = CliRunner()
    ok = runner.invoke(main, ["cards", "coverage", str(CARDS)])
    assert ok.exit_code == 0, ok.output
    rows = {line.split()[0]: line.split()[1:] for line in ok.output.splitlines()[1:] if line and not line.startswith("all")}
    assert rows["fever"][3] == "0" and int(rows["fever"][0]) == int(rows["fever"][1]) + int(rows["fever"][2])
    assert "MISSING" not in ok.output

    edit_valueset(cards_copy, "paraesthesia", drop="274676007")
    gap = runner.invoke(main, ["cards", "coverage", str(cards_copy)])
    assert gap.exit_code == 1
    assert "MISSING 274676007 Tingling of skin (finding)" in gap.output
    assert [line.split()[-1] for line in gap.output.splitlines() if line.startswith("sensory ")] == ["1"]
