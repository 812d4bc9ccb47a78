"""The shipped library's cards for a handful of resources, straight from the engine: topic -> card."""
from __future__ import annotations

from cds_service.engine.advise import advise
from tests.helpers.apps import shipped_library
from tests.helpers.findings import NOW, PATIENT_ID, patient, searchset


def topic_cards(*resources: dict, birth: str = "1980-03-01", draft: dict | None = None) -> dict[str, dict]:
    """topic -> card on patient-view, or on order-select with `draft` selected."""
    lib = shipped_library()
    data: dict = {"patient": patient(birth)}
    for rtype in {r["resourceType"] for r in resources}:
        data[rtype] = searchset(*(r for r in resources if r["resourceType"] == rtype))
    context = {"patientId": PATIENT_ID, "userId": "Practitioner/a", "hookInstance": "engine-cards"}
    hook = "patient-view"
    if draft:
        hook = "order-select"
        context |= {"draftOrders": {"resourceType": "Bundle", "entry": [{"resource": draft}]},
                    "selections": [f"ServiceRequest/{draft['id']}"]}
    return {c["source"]["topic"]["code"]: c for c in advise(lib, lib.service(f"nerve-cds-{hook}"), context, data, NOW).cards}
