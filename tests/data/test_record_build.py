"""build_record: resources from every prefetch key, de-duplicated, Patient kept apart."""
from __future__ import annotations

from cds_service.data.record import build_record


def res(rtype, rid, **fields):
    return {"resourceType": rtype, "id": rid, **fields}


def bundle(*resources, outcome=None):
    entries = [{"resource": r, "search": {"mode": "match"}} for r in resources]
    if outcome:
        entries.append({"resource": outcome, "search": {"mode": "outcome"}})
    return {"resourceType": "Bundle", "type": "searchset", "entry": entries}


def test_bundles_and_bare_resources_are_pooled_by_type():
    record = build_record({
        "patient": res("Patient", "p1", birthDate="1980-01-01"),
        "conditions": bundle(res("Condition", "c1"), res("Condition", "c2")),
        "observations": bundle(res("Observation", "o1")),
        "one": res("Procedure", "pr1"),
    })
    assert record.patient["id"] == "p1"
    assert [r["id"] for r in record.of_type("Condition")] == ["c1", "c2"]
    assert [r["id"] for r in record.of_type("Observation")] == ["o1"]
    assert [r["id"] for r in record.of_type("Procedure")] == ["pr1"]
    assert record.of_type("ImagingStudy") == []
    assert "Patient" not in record.resources


def test_duplicates_across_keys_are_kept_once():
    shared = res("Condition", "c1", note="first")
    record = build_record({
        "a": bundle(shared, res("Patient", "p1")),
        "b": bundle(res("Condition", "c1", note="second"), res("Patient", "p1")),
        "c": res("Condition", "c1"),
    })
    assert len(record.of_type("Condition")) == 1
    assert record.of_type("Condition")[0]["note"] == "first"
    assert record.patient["id"] == "p1"


def test_same_id_different_types_are_both_kept():
    record = build_record({"a": bundle(res("Condition", "x1"), res("Observation", "x1"))})
    assert len(record.of_type("Condition")) == len(record.of_type("Observation")) == 1


def test_none_keys_empty_bundles_and_outcomes_are_skipped():
    outcome = {"resourceType": "OperationOutcome", "issue": [{"severity": "information", "code": "informational"}]}
    record = build_record({
        "patient": None,
        "empty": {"resourceType": "Bundle", "type": "searchset", "total": 0},
        "obs": bundle(res("Observation", "o1"), outcome=outcome),
        "oo": outcome,
    })
    assert record.patient is None
    assert list(record.resources) == ["Observation"]


def test_nested_bundles_and_resources_without_id():
    record = build_record({
        "batch": {"resourceType": "Bundle", "type": "batch-response", "entry": [
            {"resource": bundle(res("Condition", "c1"))},
            {"resource": bundle(res("Condition", "c2"))},
            {"response": {"status": "404"}},
        ]},
        "draft": {"resourceType": "ServiceRequest", "status": "draft"},
        "draft2": {"resourceType": "ServiceRequest", "status": "draft"},
    })
    assert [r["id"] for r in record.of_type("Condition")] == ["c1", "c2"]
    assert len(record.of_type("ServiceRequest")) == 2


def test_garbage_is_ignored_not_fatal():
    record = build_record({"a": {"resourceType": "Bundle", "entry": [None, {"resource": "x"}, {"resource": {}}]},
                           "b": {"no": "type"}, "c": {"resourceType": "Bundle", "entry": 5},
                           "d": {"resourceType": "Bundle", "entry": [{"search": "x", "resource": {"resourceType": 3}}]}})
    assert record.resources == {} and record.patient is None
