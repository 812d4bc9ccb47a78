"""The reader on what a real FHIR server returns: S3 loaded by transaction, read back as searchsets."""
from __future__ import annotations

import requests

from cds_service.data.record import build_record
from cds_service.engine.findings import find
from tests.helpers.findings import (
    ICD,
    LOINC,
    NOW,
    PATIENT_ID,
    PERINEUM,
    SNOMED,
    body_site,
    condition,
    library,
    observation,
    patient,
    symptom,
)

HEADERS = {"Content-Type": "application/fhir+json", "Accept": "application/fhir+json"}


def s3_classic_ces() -> list[dict]:
    """docs/clinical-safety.md S3 plus records that must be ignored (entered-in-error, resolved)."""
    return [
        patient("1988-02-10"),
        condition("s3-disc", (ICD, "M51.16"), onsetDateTime="2026-05-26"),
        condition("s3-sci-r", (ICD, "M54.31"), recordedDate="2026-06-13"),
        condition("s3-sci-l", (ICD, "M54.32"), recordedDate="2026-06-13"),
        condition("s3-old-ces", (ICD, "G83.4"), verification="entered-in-error"),
        symptom("s3-ret", (SNOMED, "267064002"), value=True, days=0),
        symptom("s3-saddle", (SNOMED, "44077006"), value=True, days=1, bodySite=body_site(PERINEUM)),
        observation("s3-pain", (LOINC, "72514-3"), days=0, valueInteger=9),
        symptom("s3-fas", (SNOMED, "82470000"), value=True, days=30),
        symptom("s3-fas-no", (SNOMED, "82470000"), value=False, days=3),
    ]


def load(base_url: str, resources: list[dict]) -> None:
    transaction = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": f"{base_url}/{r['resourceType']}/{r['id']}", "resource": r,
         "request": {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"}} for r in resources]}
    response = requests.post(base_url, json=transaction, headers=HEADERS, timeout=30)
    assert response.status_code == 200, response.text[:500]


def search_pages(base_url: str, query: str) -> list[dict]:
    """Every page of a search, following `next` links as the server returns them."""
    pages, url = [], f"{base_url}/{query}"
    while url:
        response = requests.get(url, headers=HEADERS, timeout=30)
        assert response.status_code == 200, response.text[:500]
        page = response.json()
        assert page["resourceType"] == "Bundle" and page["type"] == "searchset"
        pages.append(page)
        url = next((link["url"] for link in page.get("link", []) if link.get("relation") == "next"), None)
    return pages


def test_findings_from_real_server_searchsets(fhir_base_url):
    load(fhir_base_url, s3_classic_ces())
    data: dict[str, dict | None] = {
        "patient": requests.get(f"{fhir_base_url}/Patient/{PATIENT_ID}", headers=HEADERS, timeout=30).json(),
        "procedures": None,  # the client said: nothing there
    }
    for rtype in ("Condition", "Observation"):
        for n, page in enumerate(search_pages(fhir_base_url, f"{rtype}?patient={PATIENT_ID}&_count=2")):
            data[f"{rtype}-{n}"] = page
    assert len([k for k in data if k.startswith("Observation")]) >= 3  # paging really happened

    record = build_record(data)
    assert len(record.of_type("Condition")) == 4 and len(record.of_type("Observation")) == 5
    defs, terminology = library()
    found = find(record, defs, terminology, NOW)

    assert found.age_years == 38
    assert not found.present("cauda-equina-syndrome")  # entered-in-error
    assert found.present("urinary-retention") and found.present("saddle-sensory-loss")
    assert found.get("sciatica").bilateral and found.get("lower-limb-symptoms").bilateral
    assert found.get("radiculopathy-lumbar").onset.isoformat() == "2026-05-26"
    assert found.negated("fasciculation") and found.get("fasciculation").previously_positive
    assert {e.reference for e in found.get("saddle-sensory-loss").evidence} == {"Observation/s3-saddle"}
