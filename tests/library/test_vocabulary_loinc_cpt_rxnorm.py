"""Every LOINC, CPT and RxNorm code in cards/ is verified against a list shipped with its source
(cards/terminology/loinc-cpt-rxnorm.tsv) or marked unverified; every LOINC code has a valid mod-10
check digit (issue #19)."""
from __future__ import annotations

import csv
import json
import re

import pytest
import yaml

from cds_service.core.settings import Settings
from cds_service.library.terminology import UNVERIFIED_EXTENSION
from tests.helpers.codings import codings

CARDS = Settings().cards_dir
LOINC, CPT, RXNORM = "http://loinc.org", "http://www.ama-assn.org/go/cpt", "http://www.nlm.nih.gov/research/umls/rxnorm"
CHECKED = (LOINC, CPT, RXNORM)


def loinc_check_digit(number: str) -> int:
    """LOINC Users' Guide, mod 10: double every other digit from the right (the rightmost first),
    add the digits of the products and the other digits, and take what brings the sum to a multiple of 10."""
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d // 10 + d % 10
    return (10 - total % 10) % 10


def loinc_valid(code: str) -> bool:
    """A LOINC term code: digits, a hyphen, the check digit. Answer codes (LA...) are checked for
    form only: their check digit follows another rule, which the Users' Guide does not publish."""
    if code.startswith("LA"):
        return re.fullmatch(r"LA\d+-\d", code) is not None
    body, _, check = code.partition("-")
    return body.isdigit() and check.isdigit() and len(check) == 1 and loinc_check_digit(body) == int(check)


def table() -> dict[tuple[str, str], dict]:
    with (CARDS / "terminology" / "loinc-cpt-rxnorm.tsv").open(encoding="utf-8") as f:
        return {(row["system"], row["code"]): row for row in csv.DictReader(f, delimiter="\t")}


def in_value_sets() -> dict[tuple[str, str], bool]:
    """(system, code) -> marked unverified, for every LOINC/CPT/RxNorm code in a value set."""
    found: dict[tuple[str, str], bool] = {}
    for path in (CARDS / "valuesets").glob("*.json"):
        for include in json.loads(path.read_text(encoding="utf-8"))["compose"]["include"]:
            for concept in include.get("concept", []) if include["system"] in CHECKED else []:
                marked = any(e.get("url") == UNVERIFIED_EXTENSION and e.get("valueCode") == "unverified"
                             for e in concept.get("extension", []))
                key = (include["system"], concept["code"])
                found[key] = found.get(key, True) and marked
    return found


def in_card_files() -> set[tuple[str, str]]:
    paths = [*CARDS.glob("*.yaml"), *(CARDS / "rules").glob("*.yaml")]
    return {(s, c) for p in paths for s, c, _ in codings(yaml.safe_load(p.read_text(encoding="utf-8"))) if s in CHECKED}


@pytest.mark.parametrize("code,valid", [("24531-6", True), ("30679-5", True), ("2823-3", True), ("LA32-8", True),
                                        ("LA33-6", True), ("LA33", False), ("2823-4", False), ("24531-5", False), ("x-1", False)])
def test_the_check_digit_algorithm(code, valid):
    assert loinc_valid(code) is valid


def test_every_loinc_code_has_a_valid_check_digit():
    codes = {c for s, c in [*in_value_sets(), *in_card_files(), *table()] if s == LOINC}
    assert codes and sorted(c for c in codes if not loinc_valid(c)) == []


def test_every_code_is_verified_in_the_shipped_list_or_marked_unverified():
    rows, valuesets = table(), in_value_sets()
    open_codes = []
    for key in sorted(set(valuesets) | in_card_files()):
        row = rows.get(key)
        if row and row["status"] == "verified":
            continue
        if valuesets.get(key) or (key not in valuesets and row and row["status"] == "unverified"):
            continue
        open_codes.append(key)
    assert open_codes == [], "verify against a shipped list (cards/terminology/loinc-cpt-rxnorm.tsv) or mark unverified"


def test_the_shipped_list_is_well_formed_and_names_its_sources():
    rows = table()
    readme = (CARDS / "terminology" / "README.md").read_text(encoding="utf-8")
    for (system, code), row in rows.items():
        assert system in CHECKED and row["status"] in ("verified", "unverified") and row["name"].strip()
        if row["status"] == "verified":
            assert f"`{row['source']}`" in readme, f"{code}: source {row['source']!r} not described in the README"
            assert not in_value_sets().get((system, code)), f"{code} is verified: drop its unverified mark"
        else:
            assert (system, code) not in in_value_sets(), f"{code}: mark it in its value set instead"


def test_the_lumbar_mri_value_set_holds_no_ultrasound_code():
    lumbar = json.loads((CARDS / "valuesets" / "mri-lumbar-spine.json").read_text(encoding="utf-8"))
    loinc = {c["code"] for inc in lumbar["compose"]["include"] if inc["system"] == LOINC for c in inc["concept"]}
    assert "24531-6" not in loinc and "30679-5" in loinc
