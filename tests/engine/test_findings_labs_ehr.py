"""Labs as laboratories report them: serum, plasma and whole-blood LOINC codes, mass and molar units
(UCUM mg/dL, mmol/L, meq/L), ionised calcium, and total calcium corrected for albumin. Observations
are shaped like Synthea's (category laboratory, display-only text, UCUM quantity, offset times,
urn:uuid subject) and, at the end, sent to the real app as an EHR's prefetch."""
from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from cds_service.core.settings import Settings
from tests.helpers.apps import new_app
from tests.helpers.findings import LOINC, NOW, PATIENT_ID, SNOMED, V3, library, patient, run, searchset
from tests.helpers.paths import CARDS

UCUM = "http://unitsofmeasure.org"


def synthea_lab(rid: str, code: str, text: str, value: float, unit: str, days: float = 2, **fields) -> dict:
    """An Observation the way Synthea writes one (see fixtures/synthea-r4)."""
    when = (NOW - timedelta(days=days)).replace(microsecond=0).isoformat()
    resource = {
        "resourceType": "Observation", "id": rid, "status": "final",
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                  "code": "laboratory", "display": "laboratory"}]}],
        "code": {"coding": [{"system": LOINC, "code": code, "display": text}], "text": text},
        "subject": {"reference": f"urn:uuid:{PATIENT_ID}"},
        "effectiveDateTime": when, "issued": when,
        "valueQuantity": {"value": value, "unit": unit, "system": UCUM, "code": unit},
        "meta": {"tag": [{"system": "https://smarthealthit.org/tags", "code": "synthea-5-2019"}]},
    }
    resource.update(fields)
    return resource


def test_whole_blood_potassium_as_synthea_codes_it():
    low = run(synthea_lab("k", "6298-4", "Potassium", 3.2, "mmol/L")).labs["potassium"]
    assert low.low and low.display == "Potassium [Moles/volume] in Blood"
    assert not run(synthea_lab("k", "6298-4", "Potassium", 4.1, "mmol/L")).labs["potassium"].low
    assert run(synthea_lab("k", "77142-8", "Potassium", 3.3, "meq/L")).labs["potassium"].low


def test_whole_blood_calcium_in_mg_per_dl_as_synthea_codes_it():
    normal = run(synthea_lab("ca", "49765-1", "Calcium", 8.927873892935647, "mg/dL")).labs["calcium"]
    assert not normal.low and normal.value_canonical == pytest.approx(2.2275, rel=1e-3)
    assert run(synthea_lab("ca", "49765-1", "Calcium", 7.9, "mg/dL")).labs["calcium"].low


def test_low_calcium_in_mmol_per_litre_reads_as_low():
    ca = run(synthea_lab("ca", "2000-8", "Calcium", 1.9, "mmol/L")).labs["calcium"]
    assert ca.low and not ca.critical_low and ca.unit == "mmol/L"
    assert run(synthea_lab("ca", "1996-8", "Calcium", 1.7, "mmol/L")).labs["calcium"].critical_low
    meq = run(synthea_lab("ca", "2000-8", "Calcium", 3.8, "meq/L")).labs["calcium"]  # 1.9 mmol/L
    assert meq.low and meq.value_canonical == pytest.approx(1.9)


def test_ionised_calcium_has_its_own_limits():
    # 1.05 mmol/L is low ionised calcium but would be far below any total-calcium limit too: check both ways
    low = run(synthea_lab("ica", "1994-3", "Calcium.ionized", 1.05, "mmol/L")).labs
    assert low["calcium-ionised"].low and "calcium" not in low
    assert low["calcium-ionised"].label == "ionised calcium"
    normal = run(synthea_lab("ica", "1995-0", "Calcium.ionized", 1.2, "mmol/L")).labs["calcium-ionised"]
    assert not normal.low  # 1.2 mmol/L is a normal ionised calcium (it would be very low as total calcium)
    mass = run(synthea_lab("ica", "17863-2", "Calcium.ionized", 4.0, "mg/dL")).labs["calcium-ionised"]
    assert mass.low and mass.value_canonical == pytest.approx(0.998, rel=1e-3)


def test_blood_magnesium_and_units_with_stray_whitespace():
    mg = run(synthea_lab("mg", "2593-2", "Magnesium", 0.6, " mmol/L ")).labs["magnesium"]
    assert mg.low and mg.unit == "mmol/L"


def test_albumin_corrects_a_falsely_low_total_calcium():
    # 8.0 mg/dL is below the 8.4 fallback; with albumin 3.0 g/dL it corrects to 8.0 + 0.8 x 1.0 = 8.8
    labs = run(synthea_lab("ca", "17861-6", "Calcium", 8.0, "mg/dL"),
               synthea_lab("alb", "1751-7", "Albumin", 3.0, "g/dL")).labs
    ca = labs["calcium"]
    assert not ca.low and ca.measured == 8.0 and ca.corrected_with.reference == "Observation/alb"
    assert ca.value == pytest.approx(8.8, abs=0.02) and ca.unit == "mg/dL"


def test_albumin_can_unmask_a_low_calcium_and_the_labs_own_range_still_rules():
    # 2.15 mmol/L is normal; albumin 50 g/L corrects it to 2.15 - 0.02 x 10 = 1.95: low
    labs = run(synthea_lab("ca", "2000-8", "Calcium", 2.15, "mmol/L"),
               synthea_lab("alb", "1751-7", "Albumin", 50, "g/L", days=2.5)).labs
    assert labs["calcium"].low and labs["calcium"].value_canonical == pytest.approx(1.95)
    # the lab's own lower limit (1.9 mmol/L) is used for the corrected value, not the fallback
    ranged = synthea_lab("ca", "2000-8", "Calcium", 2.15, "mmol/L",
                         referenceRange=[{"low": {"value": 1.9, "unit": "mmol/L", "system": UCUM, "code": "mmol/L"}}])
    assert not run(ranged, synthea_lab("alb", "1751-7", "Albumin", 50, "g/L")).labs["calcium"].low


def test_albumin_from_another_week_does_not_correct():
    labs = run(synthea_lab("ca", "17861-6", "Calcium", 8.0, "mg/dL", days=2),
               synthea_lab("alb", "1751-7", "Albumin", 3.0, "g/dL", days=9)).labs
    assert labs["calcium"].low and labs["calcium"].measured is None and labs["calcium"].value == 8.0


def test_ionised_calcium_is_never_corrected():
    labs = run(synthea_lab("ica", "1994-3", "Calcium.ionized", 1.05, "mmol/L"),
               synthea_lab("alb", "1751-7", "Albumin", 2.0, "g/dL")).labs
    assert labs["calcium-ionised"].measured is None and labs["calcium-ionised"].low


def test_every_lab_names_a_label_and_the_correction_is_a_labelled_design_choice():
    import yaml

    defs, _ = library()
    assert all(lab.label for lab in defs.labs.values())
    rule = defs.labs["calcium"].corrected_by
    assert (rule.lab, rule.reference, rule.factor) == ("albumin", 40.0, 0.02)
    raw = yaml.safe_load((CARDS / "findings.yaml").read_text())["labs"]["calcium"]["corrected_by"]
    assert all(raw[k]["design_choice"] is True for k in ("reference", "factor", "max_days_apart"))


# ---- through the real app, as an EHR's prefetch ---------------------------------------------------
@pytest.fixture(scope="module")
def client(tmp_path_factory):
    app = new_app(Settings(dev=True, auth_enabled=False,
                           database_url=f"sqlite:///{tmp_path_factory.mktemp('labs')}/fb.db"))
    return app.test_client()


def twitching_with(*labs: dict) -> dict:
    twitch = {"resourceType": "Observation", "id": "tw", "status": "final",
              "code": {"coding": [{"system": SNOMED, "code": "82470000"}]},
              "subject": {"reference": f"Patient/{PATIENT_ID}"}, "effectiveDateTime": NOW.date().isoformat()}
    empty = {k: None for k in ("conditions", "serviceRequests", "procedures", "imagingStudies",
                               "diagnosticReports", "medicationStatements")}
    return {"hook": "patient-view", "hookInstance": str(uuid.uuid4()),
            "context": {"userId": "Practitioner/dr-a", "patientId": PATIENT_ID},
            "prefetch": {**empty, "patient": patient("1990-01-01"), "observations": searchset(twitch, *labs)}}


def topics(client, body):
    response = client.post("/cds-services/nerve-cds-patient-view", json=body)
    assert response.status_code == 200, response.get_json()
    return {c["source"]["topic"]["code"]: c for c in response.get_json()["cards"]}


def test_low_calcium_in_mmol_per_litre_gets_the_electrolyte_card_not_only_reassurance(client):
    low = synthea_lab("ca", "2000-8", "Calcium", 1.9, "mmol/L", days=0.2)
    cards = topics(client, twitching_with(low))
    assert "electrolyte-contributor" in cards
    assert cards["electrolyte-contributor"]["summary"].startswith("Low calcium 1.9 mmol/L")
    normal = synthea_lab("ca", "2000-8", "Calcium", 2.3, "mmol/L", days=0.2)
    assert "electrolyte-contributor" not in topics(client, twitching_with(normal))


def test_ionised_and_corrected_calcium_on_the_card(client):
    ionised = synthea_lab("ica", "1994-3", "Calcium.ionized", 1.0, "mmol/L", days=0.2,
                          interpretation=[{"coding": [{"system": V3, "code": "L"}]}])
    card = topics(client, twitching_with(ionised))["electrolyte-contributor"]
    assert card["summary"].startswith("Low ionised calcium 1 mmol/L")

    total = synthea_lab("ca", "2000-8", "Calcium", 2.15, "mmol/L", days=0.2)
    albumin = synthea_lab("alb", "1751-7", "Albumin", 50, "g/L", days=0.2)
    card = topics(client, twitching_with(total, albumin))["electrolyte-contributor"]
    assert card["summary"].startswith("Low corrected calcium 1.95 mmol/L")
    assert "(measured 2.15 mmol/L, albumin 50 g/L on " in card["detail"]
