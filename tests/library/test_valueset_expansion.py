"""ICD-10-CM value sets by hierarchy: a compose filter (is-a / descendent-of) and the expansion
written from it at build time. A stale expansion fails here; a billable child of an included
category is recognised although no value set lists it as a concept."""
from __future__ import annotations

import json
import shutil

import pytest
import simple_icd_10_cm as icd

from cds_service.library.loader import load_library
from cds_service.library.schema import LibraryError
from cds_service.tools.valueset_expansion import expanded, has_filter, rewrite
from tests.helpers.findings import ICD, condition, library, run
from tests.helpers.paths import CARDS

FILTERED = sorted(p for p in (CARDS / "valuesets").glob("*.json") if has_filter(json.loads(p.read_text())))


def listed_concepts(vs_id: str) -> set[str]:
    data = json.loads((CARDS / "valuesets" / f"{vs_id}.json").read_text())
    return {c["code"] for inc in data["compose"]["include"] for c in inc.get("concept", [])}


def test_some_value_sets_use_the_hierarchy():
    assert {p.stem for p in FILTERED} >= {"muscle-atrophy", "entrapment-other", "hyperthyroidism"}


@pytest.mark.parametrize("path", FILTERED, ids=lambda p: p.stem)
def test_expansion_is_current(path):
    """Fix with: python -m cds_service.tools.valueset_expansion"""
    data = json.loads(path.read_text())
    assert data["expansion"]["contains"] == expanded(data)["expansion"]["contains"]
    assert data["expansion"]["total"] == len(data["expansion"]["contains"])


@pytest.mark.parametrize("path", FILTERED, ids=lambda p: p.stem)
def test_every_descendant_of_a_filter_is_in_the_expansion(path):
    data = json.loads(path.read_text())
    codes = {row["code"] for row in data["expansion"]["contains"] if row["system"] == ICD}
    for include in data["compose"]["include"]:
        for filt in include.get("filter", []):
            assert icd.is_valid_item(filt["value"])
            assert set(icd.get_descendants(filt["value"])) <= codes
            assert (filt["value"] in codes) == (filt["op"] == "is-a") or filt["value"] in listed_concepts(path.stem)


@pytest.mark.parametrize("code, vs_id", [
    ("M62.549", "muscle-atrophy"),   # wasting of the hand, side unspecified
    ("M62.579", "muscle-atrophy"),   # ankle and foot
    ("G56.91", "entrapment-other"),  # unspecified mononeuropathy of right upper limb
    ("G57.83", "entrapment-other"),  # other mononeuropathies, both lower limbs
    ("E05.91", "hyperthyroidism"),   # thyrotoxicosis with storm
])
def test_a_billable_child_not_listed_as_a_concept_is_recognised(code, vs_id):
    assert icd.is_leaf(code) and code not in listed_concepts(vs_id)
    _, terms = library()
    assert vs_id in terms.concepts_for(ICD, code)
    assert vs_id in terms.concepts_for("urn:oid:2.16.840.1.113883.6.90", code.replace(".", ""))


def test_an_expanded_child_carries_side_and_region():
    found = run(condition("c1", (ICD, "M62.549")), condition("c2", (ICD, "G56.91")))
    assert found.present("thenar-or-hand-atrophy")
    assert found.get("entrapment-other").sides == frozenset({"right"})


def test_rewrite_fills_a_missing_expansion_and_is_idempotent(tmp_path):
    path = tmp_path / "vs.json"
    data = json.loads(FILTERED[0].read_text())
    data.pop("expansion")
    path.write_text(json.dumps(data))
    assert rewrite([path]) == [path]
    assert json.loads(path.read_text())["expansion"]["contains"] == expanded(data)["expansion"]["contains"]
    assert rewrite([path]) == []


def test_a_filter_without_expansion_or_outside_icd10cm_stops_the_library(tmp_path):
    cards = tmp_path / "cards"
    shutil.copytree(CARDS, cards)
    path = cards / "valuesets" / "hyperthyroidism.json"
    data = json.loads(path.read_text())
    stale = {k: v for k, v in data.items() if k != "expansion"}
    path.write_text(json.dumps(stale))
    with pytest.raises(LibraryError, match="hyperthyroidism.json: has a filter but no expansion"):
        load_library(cards)
    data["compose"]["include"].append({"system": "http://snomed.info/sct",
                                       "filter": [{"property": "concept", "op": "is-a", "value": "34486009"}]})
    path.write_text(json.dumps(data))
    with pytest.raises(LibraryError, match="ICD-10-CM only"):
        load_library(cards)
