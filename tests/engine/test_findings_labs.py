"""Lab values (FAS-LAB): the lab's own referenceRange, else interpretation, else fallback; units."""
from __future__ import annotations

import pytest

from tests.helpers.findings import LOINC, V3, concept, day, observation, run

UCUM = "http://unitsofmeasure.org"
POTASSIUM = (LOINC, "2823-3")
MG_MASS = (LOINC, "19123-9")
MG_MOLAR = (LOINC, "2601-3")


def quantity(value: float, unit: str) -> dict:
    return {"value": value, "unit": unit, "system": UCUM, "code": unit}


def lab(rid, code, value, unit, low=None, interpretation=None, days=2, **fields):
    resource = observation(rid, code, days=days, valueQuantity=quantity(value, unit), **fields)
    if low is not None:
        resource["referenceRange"] = [{"low": quantity(low[0], low[1]), "high": quantity(low[2], low[1])}]
    if interpretation:
        resource["interpretation"] = [concept((V3, interpretation))]
    return resource


def test_s10_potassium_below_its_reference_range_is_low():
    k = run(lab("k1", POTASSIUM, 3.1, "mmol/L", low=(3.5, "mmol/L", 5.1), interpretation="L")).labs["potassium"]
    assert k.low and not k.critical_low
    assert (k.value, k.unit, k.value_canonical, k.reference, k.when) == (3.1, "mmol/L", 3.1, "Observation/k1", day(2))


def test_the_labs_own_range_beats_the_fallback_limit():
    # 3.6 is above the 3.5 fallback but below this lab's 3.7 lower limit
    assert run(lab("k1", POTASSIUM, 3.6, "mmol/L", low=(3.7, "mmol/L", 5.2))).labs["potassium"].low
    # 3.4 is below the fallback but within this lab's range
    assert not run(lab("k1", POTASSIUM, 3.4, "mmol/L", low=(3.3, "mmol/L", 5.0))).labs["potassium"].low


def test_interpretation_low_without_a_range():
    assert run(lab("k1", POTASSIUM, 3.6, "mmol/L", interpretation="L")).labs["potassium"].low
    k = run(lab("k1", POTASSIUM, 3.6, "mmol/L", interpretation="LL")).labs["potassium"]
    assert k.low and k.critical_low


def test_fallback_limit_without_range_or_interpretation():
    assert run(lab("k1", POTASSIUM, 3.4, "mmol/L")).labs["potassium"].low
    assert not run(lab("k1", POTASSIUM, 3.6, "mmol/L")).labs["potassium"].low
    critical = run(lab("k1", POTASSIUM, 2.9, "mmol/L")).labs["potassium"]
    assert critical.low and critical.critical_low


def test_potassium_meq_per_litre_equals_mmol_per_litre():
    k = run(lab("k1", POTASSIUM, 3.2, "mEq/L")).labs["potassium"]
    assert k.value_canonical == pytest.approx(3.2) and k.low


def test_magnesium_mg_per_dl_converted_to_mmol_per_litre():
    normal = run(lab("m1", MG_MASS, 2.0, "mg/dL")).labs["magnesium"]  # S6: 2.0 mg/dL is normal
    assert normal.value_canonical == pytest.approx(2.0 / 2.43, rel=1e-3) and not normal.low
    low = run(lab("m1", MG_MASS, 1.5, "mg/dL")).labs["magnesium"]  # 0.62 mmol/L < 0.70 fallback
    assert low.low and low.unit == "mg/dL"


def test_magnesium_molar_and_a_range_in_the_other_unit():
    # range given in mg/dL for a mmol/L result: converted before comparing
    mg = run(lab("m1", MG_MOLAR, 0.72, "mmol/L", low=(1.8, "mg/dL", 2.4))).labs["magnesium"]
    assert mg.low  # 1.8 mg/dL = 0.74 mmol/L
    assert not run(lab("m1", MG_MOLAR, 0.72, "mmol/L")).labs["magnesium"].low  # fallback 0.70


def test_latest_result_per_lab_wins():
    found = run(lab("old", POTASSIUM, 3.0, "mmol/L", days=60), lab("new", POTASSIUM, 4.2, "mmol/L", days=2))
    assert found.labs["potassium"].reference == "Observation/new" and not found.labs["potassium"].low


def test_lab_status_and_data_absent_rules_apply():
    assert "potassium" not in run(lab("k1", POTASSIUM, 3.0, "mmol/L", status="cancelled")).labs
    absent = observation("k2", POTASSIUM, dataAbsentReason=concept(("http://terminology.hl7.org/CodeSystem/data-absent-reason", "error")))
    assert "potassium" not in run(absent).labs


def test_unconvertible_unit_is_ignored_with_note():
    found = run(lab("k-odd", POTASSIUM, 12.0, "mg/dL"))
    assert "potassium" not in found.labs
    assert any("Observation/k-odd" in note for note in found.data_quality)


def test_lab_inside_a_panel_component():
    panel = observation("bmp", (LOINC, "24321-2"), component=[
        {"code": concept(POTASSIUM), "valueQuantity": quantity(3.2, "mmol/L")},
        {"code": concept(MG_MASS), "valueQuantity": quantity(2.1, "mg/dL")},
    ])
    found = run(panel)
    assert found.labs["potassium"].low and not found.labs["magnesium"].low
    assert found.labs["potassium"].reference == "Observation/bmp"
