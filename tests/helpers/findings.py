"""FHIR R4 resource builders for the findings tests, and checks that the real card library loads.

The builders return plain JSON dicts, exactly what an EHR or FHIR server sends: data, not mocks.
Findings are computed with the real cards/findings.yaml and cards/valuesets.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from cds_service.data.record import build_record
from cds_service.engine.findings import Findings, find
from cds_service.library.finding_defs import FindingDefs
from cds_service.library.terminology import Terminology
from tests.helpers.apps import shipped_library

SNOMED = "http://snomed.info/sct"
ICD = "http://hl7.org/fhir/sid/icd-10-cm"
LOINC = "http://loinc.org"
CPT = "http://www.ama-assn.org/go/cpt"
V3 = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=timezone.utc)
PATIENT_ID = "pat-f1"


def snomed(*codes: str) -> tuple[tuple[str, str], ...]:
    """(system, code) pairs for SNOMED CT concept ids, in order."""
    return tuple((SNOMED, code) for code in codes)


# Body sites, sides and answers (docs/clinical-safety.md, §2.8; all in SNOMED GPS 2020)
PERINEUM, BUTTOCK, LOWER_LIMB, UPPER_LIMB = snomed("38864007", "46862004", "61685007", "53120007")
LEFT, RIGHT, RIGHT_AND_LEFT = snomed("7771000", "24028007", "51440002")
NO, ABSENT, KNOWN_ABSENT, YES, PRESENT = snomed("373067005", "2667000", "410516002", "373066001", "52101004")


def ago(days: float) -> str:
    return (NOW - timedelta(days=days)).date().isoformat()


def day(days: float):
    return (NOW - timedelta(days=days)).date()


def concept(*codings: tuple[str, str]) -> dict:
    return {"coding": [{"system": system, "code": code} for system, code in codings]}


def condition(rid: str, *codings: tuple[str, str], clinical: str | None = "active",
              verification: str | None = "confirmed", **fields) -> dict:
    resource = {"resourceType": "Condition", "id": rid, "code": concept(*codings),
                "subject": {"reference": f"Patient/{PATIENT_ID}"}}
    if clinical:
        resource["clinicalStatus"] = {"coding": [{"system": CLINICAL, "code": clinical}]}
    if verification:
        resource["verificationStatus"] = {"coding": [{"system": VERIFICATION, "code": verification}]}
    resource.update(fields)
    return resource


def observation(rid: str, *codings: tuple[str, str], status: str = "final", days: float | None = 1,
                **fields) -> dict:
    resource = {"resourceType": "Observation", "id": rid, "status": status, "code": concept(*codings),
                "subject": {"reference": f"Patient/{PATIENT_ID}"}}
    if days is not None:
        resource["effectiveDateTime"] = ago(days)
    resource.update(fields)
    return resource


def symptom(rid: str, *codings: tuple[str, str], value, **fields) -> dict:
    """A finding Observation with valueBoolean (value True/False) or a coded answer (value tuple)."""
    if isinstance(value, bool):
        return observation(rid, *codings, valueBoolean=value, **fields)
    return observation(rid, *codings, valueCodeableConcept=concept(value), **fields)


def body_site(*codings: tuple[str, str]) -> dict:
    return concept(*codings)


def patient(birth_date: str | None = "1980-03-01") -> dict:
    resource = {"resourceType": "Patient", "id": PATIENT_ID}
    if birth_date:
        resource["birthDate"] = birth_date
    return resource


def searchset(*resources: dict) -> dict:
    return {"resourceType": "Bundle", "type": "searchset", "total": len(resources),
            "entry": [{"fullUrl": f"urn:x:{r['resourceType']}/{r['id']}", "resource": r, "search": {"mode": "match"}}
                      for r in resources]}


def library() -> tuple[FindingDefs, Terminology]:
    """The shipped finding definitions and value sets, loaded once per session."""
    shipped = shipped_library()
    return shipped.findings, shipped.terminology


def run(*resources: dict, pat: dict | None = None, now: datetime = NOW) -> Findings:
    """Resources split over prefetch keys by type, the way a client sends them, then find()."""
    data: dict[str, dict | None] = {"patient": pat if pat is not None else patient()}
    by_type: dict[str, list[dict]] = {}
    for resource in resources:
        by_type.setdefault(resource["resourceType"], []).append(resource)
    for rtype, items in by_type.items():
        data[rtype] = searchset(*items)
    defs, terminology = library()
    return find(build_record(data), defs, terminology, now)
