"""A long record: thousands of routine vital signs, and in it one new cauda equina red flag.

Issue #19: a patient with 3,500 vital-sign Observations and new urinary retention got a 413 with
prefetch and a 412 with fallback fetch, so no advice at all. The record here is that patient: low
back pain with leg pain (radicular context), a new urinary retention Observation and Condition,
and `noise` vital signs (heart rate, blood pressure, respiratory rate, SpO2, temperature) spread
over the years before. Used by tests/data/test_large_record.py and bench/large_record.py.
"""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from typing import Any, Iterator

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
ICD10 = "http://hl7.org/fhir/sid/icd-10-cm"
CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
# (LOINC code, display, value, UCUM unit): the vitals every ward records several times a day
VITALS = (
    ("8867-4", "Heart rate", 72, "/min"),
    ("9279-1", "Respiratory rate", 16, "/min"),
    ("59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry", 97, "%"),
    ("8310-5", "Body temperature", 36.8, "Cel"),
    ("8480-6", "Systolic blood pressure", 124, "mm[Hg]"),
)


def vital(i: int, pid: str, when: datetime) -> dict[str, Any]:
    code, display, value, unit = VITALS[i % len(VITALS)]
    return {
        "resourceType": "Observation", "id": f"vs{i}", "status": "final",
        "category": [{"coding": [{"system": CATEGORY, "code": "vital-signs", "display": "Vital Signs"}]}],
        "code": {"coding": [{"system": LOINC, "code": code, "display": display}], "text": display},
        "subject": {"reference": f"Patient/{pid}"},
        "effectiveDateTime": when.isoformat(),
        "issued": when.isoformat(),
        "valueQuantity": {"value": value, "unit": unit, "system": "http://unitsofmeasure.org", "code": unit},
    }


def _condition(rid: str, pid: str, system: str, code: str, display: str, onset: datetime) -> dict[str, Any]:
    return {
        "resourceType": "Condition", "id": rid,
        "clinicalStatus": {"coding": [{"system": CLINICAL, "code": "active"}]},
        "verificationStatus": {"coding": [{"system": VERIFICATION, "code": "confirmed"}]},
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-category",
                                  "code": "encounter-diagnosis"}]}],
        "code": {"coding": [{"system": system, "code": code, "display": display}]},
        "subject": {"reference": f"Patient/{pid}"},
        "onsetDateTime": onset.isoformat(),
    }


def red_flags(pid: str, now: datetime) -> list[dict[str, Any]]:
    """Back pain with sciatica for three weeks, and urinary retention since yesterday."""
    yesterday = now - timedelta(days=1)
    return [
        _condition("lr-back", pid, ICD10, "M54.42", "Lumbago with sciatica, left side", now - timedelta(days=21)),
        _condition("lr-retention", pid, ICD10, "R33.9", "Retention of urine, unspecified", yesterday),
        {
            "resourceType": "Observation", "id": "lr-retention-obs", "status": "final",
            "category": [{"coding": [{"system": CATEGORY, "code": "exam"}]}],
            "code": {"coding": [{"system": SNOMED, "code": "236648008", "display": "Acute retention of urine"}]},
            "subject": {"reference": f"Patient/{pid}"},
            "effectiveDateTime": yesterday.isoformat(),
            "valueBoolean": True,
        },
    ]


def patient(pid: str) -> dict[str, Any]:
    return {"resourceType": "Patient", "id": pid, "gender": "female", "birthDate": "1972-03-04"}


def vitals(pid: str, count: int, now: datetime) -> Iterator[dict[str, Any]]:
    """`count` vital signs, one every 4 hours back from two days ago (3,500 cover about 19 months)."""
    start = now - timedelta(days=2)
    for i in range(count):
        yield vital(i, pid, start - timedelta(hours=4 * i))


def record(pid: str, vital_count: int, now: datetime | None = None) -> list[dict[str, Any]]:
    """Patient, the red flags and `vital_count` vital signs: every resource of the long record."""
    now = now or datetime.now(timezone.utc)
    return [patient(pid), *red_flags(pid, now), *vitals(pid, vital_count, now)]


def searchset(resources: list[dict[str, Any]]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "searchset", "total": len(resources),
            "entry": [{"resource": r, "search": {"mode": "match"}} for r in resources]}


def transactions(resources: list[dict[str, Any]], size: int = 500) -> Iterator[dict[str, Any]]:
    """PUT transaction Bundles of at most `size` entries, to load the record into a FHIR server."""
    for start in range(0, len(resources), size):
        yield {"resourceType": "Bundle", "type": "transaction", "entry": [
            {"resource": r, "request": {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"}}
            for r in resources[start:start + size]]}


def request(pid: str, fhir_server: str | None = None, prefetch: dict | None = None) -> dict[str, Any]:
    """A patient-view call for the record: with prefetch as given (None: leave it out, the service
    fetches), naming `fhir_server` when there is one."""
    body: dict[str, Any] = {"hook": "patient-view", "hookInstance": str(uuid.uuid4()),
                            "context": {"userId": "Practitioner/dr-a", "patientId": pid}}
    if fhir_server:
        body["fhirServer"] = fhir_server
    if prefetch is not None:
        body["prefetch"] = prefetch
    return body
