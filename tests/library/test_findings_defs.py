"""cards/findings.yaml checking: a broken file gives a message naming file, place and problem."""
from __future__ import annotations

import copy
import shutil

import pytest
import yaml

from cds_service.library.finding_defs import load_finding_defs
from cds_service.library.loader import LibraryError
from tests.helpers.findings import library
from tests.helpers.paths import CARDS


@pytest.fixture
def cards(tmp_path):
    """A copy of the real card library's findings.yaml, its schema, the value sets and the settings
    its measurements name, to break."""
    target = tmp_path / "cards"
    target.mkdir()
    shutil.copy(CARDS / "settings.yaml", target / "settings.yaml")
    shutil.copytree(CARDS / "valuesets", target / "valuesets")
    shutil.copytree(CARDS / "schema", target / "schema")
    data = yaml.safe_load((CARDS / "findings.yaml").read_text())
    return target, data


def load(cards_dir, data):
    (cards_dir / "findings.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    return load_finding_defs(cards_dir / "findings.yaml")


def broken(cards, change) -> str:
    cards_dir, data = cards
    data = copy.deepcopy(data)
    change(data)
    with pytest.raises(LibraryError) as err:
        load(cards_dir, data)
    return str(err.value)


def test_real_file_loads_with_default_valueset_discovery(cards):
    cards_dir, data = cards
    assert load(cards_dir, data).names() == library()[0].names()


def test_a_measurement_naming_an_unknown_setting_is_refused(cards):
    message = broken(cards, lambda d: d["measurements"]["measured-fever"].update(at_least="fever_temp"))
    assert message == ("cards/findings.yaml: measurements.measured-fever.at_least: unknown setting 'fever_temp' "
                       "(cards/settings.yaml thresholds)")


def test_a_measurement_needs_a_limit(cards):
    message = broken(cards, lambda d: d["measurements"]["raised-crp"].pop("above"))
    assert message.startswith("cards/findings.yaml: measurements.raised-crp:")


def test_unknown_value_set_in_site(cards):
    message = broken(cards, lambda d: d["findings"]["hand-sensory"].update(site="site-hnd"))
    assert message == "cards/findings.yaml: findings.hand-sensory.site: unknown value set 'site-hnd'"


def test_unknown_value_set_in_a_code_list(cards):
    message = broken(cards, lambda d: d["findings"]["urinary-retention"].update(codes=["urinary-retension"]))
    assert message == "cards/findings.yaml: findings.urinary-retention.codes[0]: unknown value set 'urinary-retension'"


def test_unknown_key(cards):
    message = broken(cards, lambda d: d["findings"]["fasciculation"].update(sites="site-hand"))
    assert message.startswith("cards/findings.yaml: findings.fasciculation: unknown key 'sites' (allowed: any_of, category,")


def test_wrong_type(cards):
    message = broken(cards, lambda d: d["labs"]["potassium"]["fallback_low"].update(value="3.5"))
    assert message == "cards/findings.yaml: labs.potassium.fallback_low.value: '3.5' is not of type 'number'"


def test_fallback_limit_must_say_whether_it_is_a_design_choice(cards):
    message = broken(cards, lambda d: d["labs"]["magnesium"]["fallback_low"].pop("design_choice"))
    assert message == "cards/findings.yaml: labs.magnesium.fallback_low: missing required key 'design_choice'"


def test_any_of_entry_place_is_named(cards):
    def change(d):
        d["findings"]["leg-pain"]["any_of"][1]["site"] = ["site-lower-limb", "site-leg"]
    assert broken(cards, change) == "cards/findings.yaml: findings.leg-pain.any_of[1].site[1]: unknown value set 'site-leg'"


def test_codes_and_any_of_together_are_rejected(cards):
    message = broken(cards, lambda d: d["findings"]["leg-pain"].update(codes=["limb-pain-lower"]))
    assert message == "cards/findings.yaml: findings.leg-pain.codes: goes in each 'any_of' entry, or replaces 'any_of' (not both)"


def test_codes_or_any_of_is_required(cards):
    message = broken(cards, lambda d: d["findings"]["urinary-retention"].pop("codes"))
    assert message == "cards/findings.yaml: findings.urinary-retention: needs either 'codes' or 'any_of'"


def test_bad_progression_direction(cards):
    message = broken(cards, lambda d: d["findings"]["foot-drop"].update(progression={"graded_worse_when": "down"}))
    assert message == "cards/findings.yaml: findings.foot-drop.progression.graded_worse_when: 'down' is not one of ['lower', 'higher']"


def test_missing_section(cards):
    assert broken(cards, lambda d: d.pop("labs")) == "cards/findings.yaml: (top level): missing required key 'labs'"


def test_unreadable_yaml(cards):
    cards_dir, _ = cards
    (cards_dir / "findings.yaml").write_text("findings: [unclosed\n")
    with pytest.raises(LibraryError, match=r"^cards/findings.yaml: not valid YAML at line 2"):
        load_finding_defs(cards_dir / "findings.yaml")


def test_explicit_valueset_ids_argument(cards):
    cards_dir, data = cards
    (cards_dir / "findings.yaml").write_text(yaml.safe_dump(data))
    with pytest.raises(LibraryError, match="unknown value set"):
        load_finding_defs(cards_dir / "findings.yaml", valuesets={"numbness"})


def test_sides_takes_only_both(cards):
    message = broken(cards, lambda d: d["findings"]["hand-sensory"].update(sides="left"))
    assert message == "cards/findings.yaml: findings.hand-sensory.sides: the only value is 'both'"


def test_sides_goes_inside_an_any_of_entry(cards):
    message = broken(cards, lambda d: d["findings"]["saddle-sensory-loss"].update(sides="both"))
    assert message == "cards/findings.yaml: findings.saddle-sensory-loss.sides: goes inside each 'any_of' entry"


def test_every_finding_needs_a_clinical_label(cards):
    message = broken(cards, lambda d: d["findings"]["saddle-sensory-loss"].pop("label"))
    assert message == "cards/findings.yaml: findings.saddle-sensory-loss: missing required key 'label'"
    message = broken(cards, lambda d: d["findings"]["urinary-retention"].update(label=""))
    assert message == "cards/findings.yaml: findings.urinary-retention.label: '' should be non-empty"


def test_labels_are_clinical_terms_not_ids(cards):
    defs = library()[0]
    assert all(f.label and f.label != f.name for f in defs.findings.values())
    assert defs.findings["saddle-sensory-loss"].label == "Saddle anaesthesia or paraesthesia"


def test_correction_must_name_a_known_lab(cards):
    message = broken(cards, lambda d: d["labs"]["calcium"]["corrected_by"].update(lab="albumen"))
    assert message == "cards/findings.yaml: labs.calcium.corrected_by.lab: unknown lab 'albumen'"


def test_a_code_list_must_not_be_empty(cards):
    message = broken(cards, lambda d: d["findings"]["urinary-retention"].update(codes=[]))
    assert message == ("cards/findings.yaml: findings.urinary-retention.codes: "
                       "must be a value-set id or a non-empty list of value-set ids")


def test_the_removed_answer_present_list_is_refused(cards):
    message = broken(cards, lambda d: d["observations"].update(answer_present=["answer-absent"]))
    assert message.startswith("cards/findings.yaml: observations: unknown key 'answer_present' (allowed: answer_absent,")


def test_a_lab_conversion_factor_must_be_a_number(cards):
    message = broken(cards, lambda d: d["labs"]["magnesium"]["convert"].update({"mg/dL": "0.41"}))
    assert message == "cards/findings.yaml: labs.magnesium.convert.mg/dL: '0.41' is not of type 'number'"
