"""Every code in cards/ is proven: ICD-10-CM with simple-icd-10-cm, SNOMED against the GPS list
(or marked unverified in its value set), and every value set is a valid FHIR R4 ValueSet."""
from __future__ import annotations

import json

import pytest
import simple_icd_10_cm as icd
import yaml

from cds_service.core.settings import Settings
from cds_service.library.coverage import read_gps
from cds_service.library.terminology import UNVERIFIED_EXTENSION
from tests.helpers.apps import shipped_library
from tests.helpers.codings import codings
from tests.helpers.paths import GPS_FILE  # shipped in cards/terminology/, nothing outside the repository

CARDS = Settings().cards_dir
ICD = "http://hl7.org/fhir/sid/icd-10-cm"
SNOMED = "http://snomed.info/sct"


def all_card_codings():
    found = []
    for path in sorted(CARDS.rglob("*")):
        if path.suffix == ".json" and "schema" not in path.parts:
            found += codings(json.loads(path.read_text()))
        elif path.suffix == ".yaml":
            found += codings(yaml.safe_load(path.read_text()))
    for vs in sorted((CARDS / "valuesets").glob("*.json")):  # value-set concepts carry system on the include
        for include in json.loads(vs.read_text())["compose"]["include"]:
            found += [(include["system"], c["code"], c) for c in include.get("concept", [])]
    return found


@pytest.fixture(scope="module")
def gps():
    return read_gps(GPS_FILE)


def test_the_shipped_gps_list_is_the_whole_2020_release(gps):
    assert len(gps) == 26158
    assert gps["279039007"] == "Low back pain (finding)" and gps["23056005"] == "Sciatica (disorder)"
    assert (CARDS / "terminology" / "README.md").read_text(encoding="utf-8").count("CC BY 4.0") >= 1


def test_every_icd10cm_code_in_cards_is_valid():
    codes = {code for system, code, _ in all_card_codings() if system == ICD}
    assert len(codes) > 150
    invalid = sorted(c for c in codes if not icd.is_valid_item(c))
    assert invalid == []


def test_every_snomed_id_is_in_gps_or_marked_unverified(gps):
    problems = []
    for system, code, node in all_card_codings():
        if system != SNOMED or code in gps:
            continue
        marked = any(e.get("url") == UNVERIFIED_EXTENSION and e.get("valueCode") == "unverified"
                     for e in node.get("extension", []))
        if not marked:
            problems.append(code)
    assert problems == []


def test_value_sets_are_valid_r4_with_displays():
    from fhir.resources.R4B.valueset import ValueSet

    for path in sorted((CARDS / "valuesets").glob("*.json")):
        data = json.loads(path.read_text())
        ValueSet.model_validate(data)
        assert data["id"] == path.stem and data["url"].endswith("/" + path.stem)
        for include in data["compose"]["include"]:
            assert all(c.get("display") for c in include.get("concept", [])), path.name


def test_exclusive_value_sets_do_not_overlap():
    terms = shipped_library().terminology
    for a, b in [("side-left", "side-right"), ("answer-absent", "answer-unknown"), ("weakness-objective", "weakness-nonspecific"),
                 ("fasciculation", "myokymia")]:
        assert not terms.codes(a) & terms.codes(b), (a, b)


def test_unverified_marks_are_read():
    terms = shipped_library().terminology
    assert ("http://loinc.org", "LA32-8") in terms.valuesets["answer-absent"].unverified
    assert ("http://snomed.info/sct", "373067005") not in terms.valuesets["answer-absent"].unverified


def test_the_value_set_index_matches_the_value_sets():
    """cards/valuesets/README.md is what `nerve-cds cards index --write` makes of the files."""
    from cds_service.library.valueset_index import refreshed

    readme = (CARDS / "valuesets" / "README.md").read_text(encoding="utf-8")
    assert readme == refreshed(readme, CARDS / "valuesets"), "run: nerve-cds cards index --write"
