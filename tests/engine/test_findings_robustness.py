"""Malformed but JSON-valid resources never crash find(): one bad resource must not lose the rest."""
from __future__ import annotations

from tests.helpers.findings import LOINC, SNOMED, condition, observation, run, symptom

ODD_VALUES = [None, "x", 3, True, [], {}, ["x"], [{"coding": "x"}], {"coding": [None, 3, "x", {"code": 5}]}]


def test_odd_types_everywhere_are_skipped():
    odd = []
    for n, value in enumerate(ODD_VALUES):
        odd += [
            {"resourceType": "Condition", "id": f"c{n}", "code": value, "clinicalStatus": value,
             "verificationStatus": value, "onsetDateTime": value, "onsetAge": value, "bodySite": value},
            {"resourceType": "Observation", "id": f"o{n}", "status": "final", "code": value, "valueQuantity": value,
             "effectiveDateTime": value, "bodySite": value, "interpretation": value, "component": value},
            observation(f"k{n}", (LOINC, "2823-3"), valueQuantity={"value": value, "unit": value},
                        referenceRange=value if isinstance(value, list) else [value]),
            observation(f"m{n}", (SNOMED, "26544005"), valueQuantity=value, component=[value], extension=[value]),
            symptom(f"s{n}", (SNOMED, "44077006"), value=True, bodySite={"coding": value, "extension": [value]}),
            {"resourceType": "ServiceRequest", "id": f"sr{n}", "status": value, "code": value, "authoredOn": value},
            {"resourceType": "MedicationStatement", "id": f"ms{n}", "status": "active",
             "medicationCodeableConcept": value, "medicationReference": {"reference": "#x"}, "contained": [value]},
        ]
    odd.append(condition("huge-age", (SNOMED, "23056005"), onsetAge={"value": 1e12, "code": "a"}))
    good = symptom("good", (SNOMED, "267064002"), value=True)
    found = run(*odd, good, condition("bad-date", (SNOMED, "23056005"), onsetDateTime="2026-13-45"))
    assert found.present("urinary-retention")
    assert found.present("sciatica") and found.get("sciatica").onset is None
