"""Codings as EHRs send them: OIDs, older and edition URIs, undotted or lower-case ICD-10-CM codes,
stray whitespace. cards/code-systems.yaml maps them to the canonical form the value sets use."""
from __future__ import annotations

import json
import shutil

import pytest
import yaml

from cds_service.library.codesystems import load_code_systems
from cds_service.library.loader import load_library
from cds_service.library.schema import LibraryError
from tests.helpers.findings import ICD, LOINC, RXNORM, SNOMED, V3, concept, condition, library, observation, run
from tests.helpers.paths import CARDS

CPT = "http://www.ama-assn.org/go/cpt"


@pytest.fixture(scope="module")
def systems():
    return load_code_systems(CARDS)


@pytest.mark.parametrize("sent, canonical", [
    (("urn:oid:2.16.840.1.113883.6.90", "M54.16"), (ICD, "M54.16")),
    (("urn:oid:2.16.840.1.113883.6.96", "192970008"), (SNOMED, "192970008")),
    (("urn:oid:2.16.840.1.113883.6.1", "2823-3"), (LOINC, "2823-3")),
    (("urn:oid:2.16.840.1.113883.6.88", "5640"), (RXNORM, "5640")),
    (("urn:oid:2.16.840.1.113883.6.12", "72148"), (CPT, "72148")),
    (("urn:oid:2.16.840.1.113883.5.83", "L"), (V3, "L")),
    (("http://hl7.org/fhir/v3/ObservationInterpretation", "LL"), (V3, "LL")),
])
def test_oids_and_older_uris_name_the_canonical_system(systems, sent, canonical):
    assert systems.canonical(*sent) == canonical


@pytest.mark.parametrize("code, canonical", [
    ("M5416", "M54.16"), ("m54.16", "M54.16"), (" M54.16\n", "M54.16"), ("g834", "G83.4"),
    ("M50123", "M50.123"), ("G83", "G83"), ("M54.5", "M54.5"),
])
def test_icd10cm_codes_get_their_dot_and_upper_case(systems, code, canonical):
    assert systems.canonical(ICD, code) == (ICD, canonical)


def test_system_whitespace_case_and_trailing_slash_are_ignored(systems):
    assert systems.canonical("  HTTP://hl7.org/FHIR/sid/icd-10-cm/ ", "m5416") == (ICD, "M54.16")
    assert systems.canonical(" URN:OID:2.16.840.1.113883.6.96", " 192970008 ") == (SNOMED, "192970008")
    assert systems.canonical("http://loinc.org", "la32-8") == (LOINC, "LA32-8")


def test_snomed_edition_uri_as_the_system_is_snomed(systems):
    assert systems.canonical("http://snomed.info/sct/731000124108", "267064002") == (SNOMED, "267064002")
    assert systems.canonical("http://snomed.info/sct/900000000000207008/version/20230301", "1") == (SNOMED, "1")


def test_case_sensitive_systems_keep_their_codes(systems):
    # HL7 v3 codes are case-sensitive: no upper-casing rule for them, so "l" is not "L"
    assert systems.canonical(V3, "l") == (V3, "l")
    assert systems.canonical(SNOMED, "267064002") == (SNOMED, "267064002")


def test_unknown_and_look_alike_systems_are_not_mapped(systems):
    # WHO ICD-10 is a different code system: read as ICD-10-CM only where code-systems.yaml lists the
    # code as meaning the same (WHO M54.31 is sciatica of the occipito-atlanto-axial region)
    who = "http://hl7.org/fhir/sid/icd-10"
    assert systems.canonical(who, "M54.31") == (who, "M54.31")
    assert systems.canonical(who, "G834") == (ICD, "G83.4")
    assert systems.canonical("urn:oid:2.16.840.1.113883.6.3", "g83.4") == (ICD, "G83.4")
    assert systems.canonical("urn:oid:2.16.840.1.113883.6.4", "G83.4")[0] == "urn:oid:2.16.840.1.113883.6.4"
    assert systems.canonical(None, None) == ("", "")
    assert systems.canonical(" http://example.org/local ", " X1 ") == ("http://example.org/local", "X1")


def test_terminology_looks_up_codings_as_sent():
    _, terms = library()
    assert terms.concepts_for("urn:oid:2.16.840.1.113883.6.90", "M5416") == terms.concepts_for(ICD, "M54.16")
    assert "cauda-equina-syndrome" in terms.concepts_for("urn:oid:2.16.840.1.113883.6.96", "192970008")
    assert "cauda-equina-syndrome" in terms.concepts_in([{"system": "urn:oid:2.16.840.1.113883.6.90", "code": "G834"}])
    assert terms.display("urn:oid:2.16.840.1.113883.6.90", "m5416") == "Radiculopathy, lumbar region"
    assert "cauda-equina-syndrome" in terms.concepts_for("http://hl7.org/fhir/sid/icd-10", "G83.4")
    assert terms.concepts_for("http://hl7.org/fhir/sid/icd-10", "M54.31") == frozenset()


def test_who_icd10_codes_read_as_icd10cm_are_icd10cm_codes():
    import simple_icd_10_cm as cm

    from tests.helpers.reencode import who_icd10

    assert who_icd10() and all(cm.is_valid_item(code) for code in who_icd10())


def test_findings_from_a_record_coded_with_oids_and_undotted_icd():
    found = run(
        condition("c1", ("urn:oid:2.16.840.1.113883.6.90", "M5431")),
        condition("c2", ("urn:oid:2.16.840.1.113883.6.90", "m54.32")),
        observation("o1", ("urn:oid:2.16.840.1.113883.6.96", "267064002")),
        observation("o2", ("http://snomed.info/sct/731000124108", "44077006"),
                    bodySite=concept(("urn:oid:2.16.840.1.113883.6.96", "38864007"))),
    )
    assert found.present("urinary-retention") and found.present("saddle-sensory-loss")
    assert found.get("sciatica").sides == frozenset({"left", "right"})  # laterality read from the undotted codes
    assert found.get("urinary-retention").evidence[0].display == "Retention of urine (disorder)"


def test_progression_marker_sent_with_the_v3_oid():
    weak = ("urn:oid:2.16.840.1.113883.6.90", "M6281")
    marker = [{"coding": [{"system": "urn:oid:2.16.840.1.113883.5.83", "code": "W"}]}]
    found = run(observation("w1", weak, days=3, interpretation=marker))
    assert found.get("weakness-objective").progressive


def test_a_value_set_code_not_in_canonical_form_stops_the_library(tmp_path):
    cards = tmp_path / "cards"
    shutil.copytree(CARDS, cards)
    path = cards / "valuesets" / "cauda-equina-syndrome.json"
    data = json.loads(path.read_text())
    data["compose"]["include"][0]["concept"][0]["code"] = "G834"
    path.write_text(json.dumps(data))
    with pytest.raises(LibraryError, match=r"cauda-equina-syndrome\.json: .*'G834' is not in canonical form"):
        load_library(cards)


def test_code_systems_file_is_checked(tmp_path):
    cards = tmp_path / "cards"
    shutil.copytree(CARDS, cards)
    path = cards / "code-systems.yaml"
    data = yaml.safe_load(path.read_text())
    data["systems"][0]["code"]["case"] = "lower"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(LibraryError, match=r"cards/code-systems.yaml: systems\[0\]\.code\.case"):
        load_library(cards)
    data["systems"][0]["code"]["case"] = "upper"
    data["systems"][1]["aliases"].append("URN:OID:2.16.840.1.113883.6.90")  # ICD-10-CM's OID given to SNOMED
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(LibraryError, match="given twice"):
        load_library(cards)


def test_every_system_the_value_sets_use_has_an_entry(systems):
    used = {include["system"] for p in (CARDS / "valuesets").glob("*.json")
            for include in json.loads(p.read_text())["compose"]["include"]}
    assert used <= systems.names()


def test_the_cache_of_raw_system_names_is_bounded(systems):
    for i in range(2000):
        systems.canonical(f"http://example.org/cs/{i}", "x")
    assert len(systems._seen) <= 512 + len(systems.names())
    assert systems.canonical("urn:oid:2.16.840.1.113883.6.90", "M5416") == (ICD, "M54.16")


def test_codings_remembered_as_sent_are_bounded_and_still_right():
    from cds_service.library.terminology import load_terminology

    terms = load_terminology(CARDS / "valuesets")
    for i in range(10000):
        terms.concepts_for("http://example.org/cs", f"code-{i}")
    assert len(terms._as_sent) <= 8192
    assert "radiculopathy-lumbar" in terms.concepts_for("urn:oid:2.16.840.1.113883.6.90", "M5416")
    assert "radiculopathy-lumbar" in terms.concepts_for("urn:oid:2.16.840.1.113883.6.90", "M5416")
