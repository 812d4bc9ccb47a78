"""Drug classes and physiotherapy as US Core and Synthea record them (not only as our fixtures do)."""
from __future__ import annotations

import json

import pytest

from cds_service.engine.predicates import Context
from cds_service.engine.when import evaluate
from tests.helpers.apps import shipped_library
from tests.helpers.findings import CPT, NOW, PATIENT_ID, RXNORM, SNOMED, ago, concept, day, run
from tests.helpers.paths import CARDS

SUBJECT = {"reference": f"Patient/{PATIENT_ID}"}
LIBRARY = shipped_library()


def order(rid, *codings, status="active", **fields):
    return {"resourceType": "MedicationRequest", "id": rid, "status": status, "intent": "order", "subject": SUBJECT,
            "medicationCodeableConcept": concept(*codings), **fields}


def recent(found, *kinds) -> bool:
    ctx = Context(findings=found, settings=LIBRARY.settings)
    node = {"medication_within": {"kinds": list(kinds), "within": "conservative_care_recent_days"}}
    return evaluate(node, ctx)[0]


@pytest.mark.parametrize("code, kind", [
    ("7258", "nsaid"),                       # IN naproxen
    ("198014", "nsaid"),                     # SCD naproxen 500 MG Oral Tablet
    ("849574", "nsaid"),                     # SCD naproxen sodium 220 MG Oral Tablet (Synthea)
    ("213469", "nsaid"),                     # SBD Celebrex 200 MG
    ("310431", "neuropathic-agent"),         # SCD gabapentin 300 MG Oral Capsule
    ("105029", "neuropathic-agent"),         # SBD Neurontin 300 MG
    ("1860154", "opioid"),                   # SCD oxycodone ER (Synthea)
    ("316049", "thiazide"),                  # hydrochlorothiazide 25 MG (Synthea)
    ("4603", "loop-diuretic"),               # IN furosemide
    ("8640", "systemic-corticosteroid"),     # IN prednisone
])
def test_drug_class_by_ingredient_clinical_or_branded_drug(code, kind):
    assert run(order("mr", (RXNORM, code))).medications == {kind}


def test_unrelated_drug_and_text_only_drug_are_no_class():
    assert run(order("mr", (RXNORM, "313782"))).medications == frozenset()  # acetaminophen 325 MG
    text_only = order("mr2", (RXNORM, "313782"))
    text_only["medicationCodeableConcept"] = {"text": "naproxen 500 mg"}
    assert run(text_only).medications == frozenset()


def test_oral_hydrocortisone_counts_but_the_ingredient_alone_does_not():
    assert run(order("mr", (RXNORM, "197787"))).medications == {"systemic-corticosteroid"}
    assert run(order("mr", (RXNORM, "5492"))).medications == frozenset()  # could be a cream


def test_completed_course_counts_within_the_window_only():
    window = LIBRARY.settings["conservative_care_recent_days"]
    fresh = run(order("mr", (RXNORM, "198014"), status="completed", authoredOn=ago(window - 10)), now=NOW)
    assert fresh.medications == frozenset()  # not current use
    assert recent(fresh, "nsaid")
    old = run(order("mr", (RXNORM, "198014"), status="stopped", authoredOn=ago(window + 10)), now=NOW)
    assert not recent(old, "nsaid")
    ended = run(order("mr", (RXNORM, "198014"), status="completed", authoredOn=ago(window + 60),
                      dispenseRequest={"validityPeriod": {"start": ago(window + 60), "end": ago(5)}}), now=NOW)
    assert recent(ended, "nsaid")  # written long ago, but the course ran until 5 days ago
    cancelled = run(order("mr", (RXNORM, "198014"), status="cancelled", authoredOn=ago(2)), now=NOW)
    assert not recent(cancelled, "nsaid")
    assert recent(run(order("mr", (RXNORM, "198014"), authoredOn=ago(900)), now=NOW), "nsaid")  # active


def test_included_medication_resource_is_resolved():
    med = {"resourceType": "Medication", "id": "nap", "code": concept((RXNORM, "198014"))}
    request = {"resourceType": "MedicationRequest", "id": "mr1", "status": "active", "intent": "order",
               "subject": SUBJECT, "medicationReference": {"reference": "Medication/nap"}}
    assert run(med, request).medications == {"nsaid"}
    assert run(request).medications == frozenset()  # not resolvable: no class, no guess


def test_physiotherapy_from_careplan_category_activity_and_procedure():
    synthea_plan = {"resourceType": "CarePlan", "id": "cp1", "status": "completed", "intent": "order", "subject": SUBJECT,
                    "category": [concept((SNOMED, "91251008"))], "period": {"start": ago(30) + "T00:00:00Z"},
                    "activity": [{"detail": {"code": concept((SNOMED, "229070002")), "status": "completed"}}]}
    found = run(synthea_plan)
    assert [(s.kind, s.state, s.when) for s in found.studies] == [("physical-therapy", "done", day(30))]
    plan = {"resourceType": "CarePlan", "id": "cp2", "status": "active", "intent": "plan", "subject": SUBJECT,
            "activity": [{"detail": {"code": concept((SNOMED, "91251008")), "status": "scheduled",
                                     "scheduledPeriod": {"start": ago(-3)}}}]}
    assert [(s.kind, s.state) for s in run(plan).studies] == [("physical-therapy", "open")]
    revoked = dict(synthea_plan, status="revoked")
    assert run(revoked).studies == ()
    manual = {"resourceType": "Procedure", "id": "pr1", "status": "completed", "subject": SUBJECT,
              "code": concept((CPT, "97140")), "performedDateTime": ago(10)}
    assert [(s.kind, s.state) for s in run(manual).studies] == [("physical-therapy", "done")]


def test_every_medication_class_lists_rxnorm_names_and_term_types():
    for kind in LIBRARY.findings.medications:
        data = json.loads((CARDS / "valuesets" / f"{kind}.json").read_text())
        for concept_ in data["compose"]["include"][0]["concept"]:
            assert concept_["display"], (kind, concept_["code"])
            assert concept_["designation"][0]["value"] in {"IN", "PIN", "SCD", "SCDC", "SBD"}, (kind, concept_)
