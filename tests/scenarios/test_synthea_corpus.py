"""A real-world-shaped corpus: 27 Synthea R4 patients through the service, both ways.

Each record is loaded into the real FHIR server as a transaction and then advised on (a) from the
prefetch an EHR builds with the discovery templates (no fhirServer, so nothing can be fetched) and
(b) with no prefetch, fetched by the service. No call may fail, no record may raise the cauda
equina alarm, and every patient gets exactly the cards fixtures/synthea-r4/expected.yaml writes
down, with the drug classes and physiotherapy the record holds. Runtime: about 1 s per patient.
"""
from __future__ import annotations

import gzip
import json
import uuid
from datetime import datetime, timezone

import pytest
import requests
import yaml

from cds_service.core.settings import Settings
from cds_service.data.record import build_record
from cds_service.engine.findings import find
from tests.helpers.apps import new_app, shipped_library
from tests.helpers.scenarios import ehr_prefetch

CORPUS = Settings().fixtures_dir / "synthea-r4"
EXPECTED = yaml.safe_load((CORPUS / "expected.yaml").read_text(encoding="utf-8"))["patients"]
FILES = sorted(p.name.removesuffix(".json.gz") for p in CORPUS.glob("*.json.gz"))
BILLING = {"Claim", "ExplanationOfBenefit"}
CES = {"cauda-equina-emergency", "cauda-equina-urgent"}
LIBRARY = shipped_library()
MRI_LUMBAR = {"system": "http://www.ama-assn.org/go/cpt", "code": "72148"}


def as_put_transaction(bundle: dict) -> dict:
    """Synthea POSTs every entry (server-assigned ids) and links them by urn:uuid; PUT each under
    its own id instead, so the patient id is known and a reload replaces rather than duplicates.
    The server rewrites the urn:uuid references to Type/id as the transaction requires. Claims and
    ExplanationOfBenefits (half the bytes, billing only, referenced by nothing clinical and read by
    no prefetch template) are left out to keep the load time down."""
    entries = [{**e, "request": {"method": "PUT", "url": f"{e['resource']['resourceType']}/{e['resource']['id']}"}}
               for e in bundle["entry"] if e["resource"]["resourceType"] not in BILLING]
    return {**bundle, "entry": entries}


def read(name: str) -> dict:
    with gzip.open(CORPUS / f"{name}.json.gz", "rt", encoding="utf-8") as f:
        return json.load(f)


def patient_id(bundle: dict) -> str:
    return next(e["resource"]["id"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient")


@pytest.fixture(scope="module")
def loaded(fhir_base_url):
    ids = {}
    for name in FILES:
        bundle = read(name)
        reply = requests.post(fhir_base_url, json=as_put_transaction(bundle),
                              headers={"Content-Type": "application/fhir+json"}, timeout=60)
        assert reply.status_code == 200, f"{name}: {reply.status_code} {reply.text[:300]}"
        ids[name] = patient_id(bundle)
    return ids


@pytest.fixture(scope="module")
def client(fhir_base_url, tmp_path_factory):
    settings = Settings(dev=True, auth_enabled=False, fhir_allowlist=(fhir_base_url,),
                        database_url=f"sqlite:///{tmp_path_factory.mktemp('syn')}/feedback.db")
    return new_app(settings).test_client()


def post(client, body: dict) -> list[dict]:
    response = client.post(f"/cds-services/nerve-cds-{body['hook']}", json=body)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["cards"]


def topics(cards: list[dict]) -> list[str]:
    return sorted(c["source"]["topic"]["code"] for c in cards)


def test_every_file_has_an_expectation_and_the_provenance_travels_with_it():
    assert sorted(EXPECTED) == FILES and len(FILES) == 27
    assert "Apache License" in (CORPUS / "LICENSE").read_text()
    assert "smart-on-fhir/generated-sample-data" in (CORPUS / "README.md").read_text()


@pytest.mark.parametrize("name", FILES)
def test_synthea_patient_both_ways(name, loaded, client, fhir_base_url):
    expected = EXPECTED[name]
    context = {"userId": "Practitioner/nerve-cds-demo-clinician", "patientId": loaded[name]}
    request = {"hook": "patient-view", "hookInstance": str(uuid.uuid4()), "context": context}
    prefetch = ehr_prefetch(client, fhir_base_url, "nerve-cds-patient-view", context)
    with_prefetch = post(client, {**request, "prefetch": prefetch})
    fetched = post(client, {**request, "fhirServer": fhir_base_url})
    assert topics(with_prefetch) == topics(fetched), "prefetch and fetch paths disagree"
    assert not CES & set(topics(fetched))
    assert topics(fetched) == sorted(expected["cards"]), expected["reason"]

    found = find(build_record(prefetch), LIBRARY.findings, LIBRARY.terminology, datetime.now(timezone.utc))
    assert sorted(found.medications) == expected["drugs_current"]
    assert sorted({u.kind for u in found.medication_uses if not u.active}) == expected["drugs_past"]
    assert any(s.kind == "physical-therapy" for s in found.studies) == expected["physiotherapy"]

    if "order_sign_lumbar_mri" in expected:
        draft = {"resourceType": "ServiceRequest", "id": f"syn-mri-{loaded[name][:8]}", "status": "draft",
                 "intent": "order", "subject": {"reference": f"Patient/{loaded[name]}"},
                 "code": {"coding": [MRI_LUMBAR]}}
        sign = {"hook": "order-sign", "hookInstance": str(uuid.uuid4()), "fhirServer": fhir_base_url,
                "context": {**context, "draftOrders": {"resourceType": "Bundle", "type": "collection",
                                                       "entry": [{"resource": draft}]}}}
        assert topics(post(client, sign)) == sorted(expected["order_sign_lumbar_mri"]), expected["reason"]

