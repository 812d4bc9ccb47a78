"""Measured findings (§6.2): a temperature, CRP, ESR or white cell count is judged raised from its value,
with its unit converted (UCUM [degF], mg/dL), the lab's own range or flag first, the settings' fallback
last, and only within its look-back. Real cards/findings.yaml, value sets and settings."""
from __future__ import annotations

from tests.helpers.findings import LOINC, V3, concept, observation, run

TEMPERATURE, ORAL, CRP, ESR, WBC = (LOINC, "8310-5"), (LOINC, "8331-1"), (LOINC, "1988-5"), (LOINC, "30341-2"), (LOINC, "6690-2")


def quantity(value: float, unit: str) -> dict:
    return {"value": value, "unit": unit, "system": "http://unitsofmeasure.org", "code": unit}


def reading(rid: str, code, value: float, unit: str, days: float = 1, **fields) -> dict:
    return observation(rid, code, days=days, valueQuantity=quantity(value, unit), **fields)


def high(value: float, unit: str) -> list[dict]:
    return [{"high": quantity(value, unit)}]


def test_a_temperature_at_the_threshold_is_fever_and_below_it_is_not():
    assert run(reading("t1", TEMPERATURE, 38.0, "Cel")).present("measured-fever")
    found = run(reading("t1", TEMPERATURE, 37.9, "Cel"))
    assert not found.present("measured-fever") and found.negated("measured-fever"), "measured normal, not unknown"


def test_fahrenheit_is_converted_before_the_comparison():
    assert run(reading("t1", ORAL, 101.5, "[degF]")).present("measured-fever"), "101.5 F = 38.6 C"
    assert not run(reading("t1", ORAL, 99.5, "[degF]")).present("measured-fever"), "99.5 F = 37.5 C, not 99.5 C"


def test_the_evidence_names_the_value_and_its_date():
    (evidence,) = run(reading("t1", TEMPERATURE, 38.6, "Cel", days=2)).get("measured-fever").evidence
    assert evidence.reference == "Observation/t1" and evidence.qualifiers == "38.6 Cel" and evidence.positive


def test_an_old_fever_or_an_unusable_reading_does_not_count():
    assert not run(reading("t1", TEMPERATURE, 39.5, "Cel", days=8)).present("measured-fever"), "fever_lookback_days is 7"
    assert not run(reading("t1", TEMPERATURE, 39.5, "Cel", status="entered-in-error")).present("measured-fever")
    found = run(reading("t1", TEMPERATURE, 39.5, "furlongs"))
    assert not found.present("measured-fever") and any("cannot be converted" in n for n in found.data_quality)
    assert [u.about for u in found.unreadable] == [("measured-fever", "earlier-fever")], (
        "an unconvertible unit is said once, for every finding the reading is for, not passed over")


def test_a_fever_older_than_the_infection_window_is_an_earlier_fever_until_recorded_value_days():
    """§6.0.3: a fever nine days ago does not raise the infection card (fever_lookback_days 7), but
    it is in the record and the conservative card must not hide it (recorded_value_days 28)."""
    nine = run(reading("t1", TEMPERATURE, 38.2, "Cel", days=9))
    assert not nine.present("measured-fever") and nine.present("earlier-fever")
    assert not run(reading("t1", TEMPERATURE, 38.2, "Cel", days=29)).present("earlier-fever")
    crp = run(reading("c1", CRP, 40, "mg/L", days=20, referenceRange=high(5, "mg/L")))
    assert not crp.present("raised-crp") and crp.present("earlier-raised-crp"), "infection_lab_days is 14"


def test_every_reading_of_the_window_is_kept_raised_or_normal_oldest_first():
    found = run(reading("t2", TEMPERATURE, 36.9, "Cel", days=0), reading("t1", TEMPERATURE, 38.2, "Cel", days=9),
                reading("c1", CRP, 4, "mg/L", days=3, referenceRange=high(5, "mg/L")))
    assert [(r.value, r.raised) for r in found.readings["earlier-fever"]] == [(38.2, True), (36.9, False)]
    assert [r.value for r in found.readings["measured-fever"]] == [36.9], "its own window only"
    assert [(r.value, r.raised) for r in found.readings["earlier-raised-crp"]] == [(4, False)]


def test_a_fever_days_ago_still_counts_after_a_normal_reading_today():
    found = run(reading("t1", TEMPERATURE, 38.7, "Cel", days=3), reading("t2", TEMPERATURE, 36.9, "Cel", days=0))
    assert found.present("measured-fever")


def test_crp_is_judged_by_the_lab_range_first_then_its_flag_then_the_fallback():
    assert run(reading("c1", CRP, 8, "mg/L", referenceRange=high(5, "mg/L"))).present("raised-crp"), "above the lab's range"
    assert not run(reading("c1", CRP, 15, "mg/L", referenceRange=high(20, "mg/L"))).present("raised-crp")
    assert not run(reading("c1", CRP, 15, "mg/L", interpretation=[concept((V3, "N"))])).present("raised-crp"), "flag N"
    assert run(reading("c1", CRP, 8, "mg/L", interpretation=[concept((V3, "H"))])).present("raised-crp"), "flag H"
    assert run(reading("c1", CRP, 11, "mg/L")).present("raised-crp"), "fallback 10 mg/L"
    assert not run(reading("c1", CRP, 9, "mg/L")).present("raised-crp")


def test_crp_in_mg_per_dl_is_converted():
    assert run(reading("c1", CRP, 1.8, "mg/dL")).present("raised-crp"), "1.8 mg/dL = 18 mg/L"
    assert not run(reading("c1", CRP, 0.8, "mg/dL")).present("raised-crp"), "0.8 mg/dL = 8 mg/L, not 0.8 mg/L"
    assert run(reading("c1", CRP, 1.8, "mg/dL", referenceRange=high(0.5, "mg/dL"))).present("raised-crp")


def test_a_crp_is_rising_only_when_the_latest_raised_value_is_higher():
    rising = run(reading("c1", CRP, 40, "mg/L", days=3), reading("c2", CRP, 120, "mg/L", days=1))
    falling = run(reading("c1", CRP, 120, "mg/L", days=3), reading("c2", CRP, 40, "mg/L", days=1))
    assert rising.get("raised-crp").progressive and not falling.get("raised-crp").progressive


def test_esr_and_white_cell_count_fallbacks():
    assert run(reading("e1", ESR, 45, "mm/h")).present("raised-esr")
    assert not run(reading("e1", ESR, 25, "mm/h")).present("raised-esr")
    assert run(reading("w1", WBC, 14.2, "10*3/uL")).present("raised-wbc")
    assert not run(reading("w1", WBC, 9.0, "10*9/L")).present("raised-wbc")


def test_a_temperature_is_never_read_as_a_coded_finding():
    """A temperature Observation with a value is not 'positive' evidence of any finding by its code."""
    found = run(reading("t1", TEMPERATURE, 36.5, "Cel"))
    assert [name for name, f in found.by_name.items() if f.present] == []
