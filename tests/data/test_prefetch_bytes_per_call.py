"""A hostile allowlisted FHIR server sending page after page just under the response cap: all the
bytes one hook call reads are bounded (NERVE_CDS_FHIR_MAX_BYTES_PER_CALL), so the call ends with a
412 naming the bound instead of reading and parsing pages until its worker stalls (issue #17)."""
from __future__ import annotations

import uuid

from cds_service.core.settings import Settings
from tests.helpers.apps import new_app
from tests.helpers.fault_servers import ByPath

SERVICE = "/cds-services/nerve-cds-patient-view"
PID = "big-1"
PAGE_BYTES = 100_000


def test_pages_count_against_the_calls_byte_bound(tmp_path):
    answers: dict = {"Patient/": {"resourceType": "Patient", "id": PID, "birthDate": "1980-01-01"}}
    with ByPath(answers) as server:
        padding = {"resourceType": "Condition", "id": "pad", "subject": {"reference": f"Patient/{PID}"},
                   "note": [{"text": "x" * PAGE_BYTES}]}
        answers["Condition"] = {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": padding}],
                                "link": [{"relation": "next", "url": f"{server.base_url}/Condition?page=again"}]}
        settings = Settings(dev=True, auth_enabled=False, database_url=f"sqlite:///{tmp_path}/fb.db",
                            fhir_max_pages=1000, fhir_max_bytes_per_call=5 * PAGE_BYTES)
        client = new_app(settings).test_client()
        body = {"hook": "patient-view", "hookInstance": str(uuid.uuid4()), "fhirServer": server.base_url,
                "context": {"userId": "Practitioner/dr-a", "patientId": PID}}
        answer = client.post(SERVICE, json=body)
        requests_seen = server.count
    assert answer.status_code == 412
    diagnostics = answer.get_json()["issue"][0]["diagnostics"]
    assert "conditions" in diagnostics and "NERVE_CDS_FHIR_MAX_BYTES_PER_CALL" in diagnostics
    assert requests_seen < 30, "reading stopped at the bound (about 5 pages and a read per key), not at the page cap"
