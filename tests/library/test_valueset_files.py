"""cards/valuesets/*.json are checked against cards/schema/valueset.schema.json at load: a typo or a
FHIR feature the service does not read stops start-up with the file and the place, instead of
silently matching fewer codes."""
from __future__ import annotations

import json
import shutil

import pytest

from cds_service.library.schema import LibraryError
from cds_service.library.terminology import load_terminology
from tests.helpers.paths import CARDS


@pytest.fixture
def cards(tmp_path):
    target = tmp_path / "cards"
    for part in ("valuesets", "schema"):
        shutil.copytree(CARDS / part, target / part)
    shutil.copy(CARDS / "code-systems.yaml", target / "code-systems.yaml")
    return target


def edit(cards, name, change) -> str:
    path = cards / "valuesets" / f"{name}.json"
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))
    with pytest.raises(LibraryError) as err:
        load_terminology(cards / "valuesets")
    return str(err.value)


def test_the_shipped_value_sets_load(cards):
    assert "urinary-retention" in load_terminology(cards / "valuesets").valuesets


def test_a_misspelt_key_is_refused_not_ignored(cards):
    def change(data):
        data["compose"]["include"][0]["concepts"] = data["compose"]["include"][0].pop("concept")
    message = edit(cards, "urinary-retention", change)
    assert message.startswith("cards/valuesets/urinary-retention.json: compose.include[0]: unknown key 'concepts' (allowed:")


def test_exclude_is_refused_because_it_would_be_ignored(cards):
    def change(data):
        data["compose"]["exclude"] = [{"system": "http://snomed.info/sct", "concept": [{"code": "267064002"}]}]
    message = edit(cards, "urinary-retention", change)
    assert message.startswith("cards/valuesets/urinary-retention.json: compose: unknown key 'exclude' (allowed: inactive,")


def test_a_concept_without_a_code(cards):
    message = edit(cards, "urinary-retention", lambda d: d["compose"]["include"][0]["concept"][0].pop("code"))
    assert message == "cards/valuesets/urinary-retention.json: compose.include[0].concept[0]: missing required key 'code'"


def test_the_id_must_match_the_file_name(cards):
    message = edit(cards, "urinary-retention", lambda d: d.update(id="urinary-retension"))
    assert message == ("cards/valuesets/urinary-retention.json: id: 'urinary-retension' must be the file name "
                       "without .json ('urinary-retention')")


def test_broken_json_names_the_file(cards):
    (cards / "valuesets" / "numbness.json").write_text('{"resourceType": "ValueSet",')
    with pytest.raises(LibraryError, match=r"^cards/valuesets/numbness.json: not valid JSON: "):
        load_terminology(cards / "valuesets")


def test_an_include_needs_concepts_or_a_filter(cards):
    message = edit(cards, "urinary-retention", lambda d: d["compose"]["include"][0].pop("concept"))
    assert message == "cards/valuesets/urinary-retention.json: compose.include[0]: an include needs 'concept' or 'filter'"
