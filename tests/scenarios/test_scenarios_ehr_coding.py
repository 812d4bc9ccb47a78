"""The classic CES scenario (S3) recoded the way many EHRs send it: ICD-10-CM and SNOMED CT by OID,
ICD-10-CM codes without the dot, LOINC by OID, a SNOMED edition URI as the body-site system. Loaded
into the real FHIR server and sent through the real app with the EHR's prefetch, it must give the
same critical card as the canonical coding, with the findings named in clinical terms."""
from __future__ import annotations

import copy
import uuid
from datetime import date

import pytest
import requests

from cds_service.core.settings import Settings
from cds_service.data.scenarios import load_scenario
from tests.helpers.apps import new_app
from tests.helpers.codings import codings
from tests.helpers.scenarios import ehr_prefetch

SETTINGS = Settings()
SID = "s03-classic-cauda-equina"
ICD = "http://hl7.org/fhir/sid/icd-10-cm"
SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
AS_SENT = {ICD: "urn:oid:2.16.840.1.113883.6.90", SNOMED: "urn:oid:2.16.840.1.113883.6.96",
           LOINC: "urn:oid:2.16.840.1.113883.6.1"}


def recode(node, in_body_site=False):
    """Every clinical coding renamed as an EHR might send it; ICD-10-CM codes lose their dot."""
    if isinstance(node, dict):
        out = {k: recode(v, in_body_site or k == "bodySite") for k, v in node.items()}
        if out.get("system") in AS_SENT and isinstance(out.get("code"), str):
            system = out["system"]
            if in_body_site and system == SNOMED:
                out["system"], out["version"] = SNOMED + "/731000124108", SNOMED + "/731000124108/version/20230301"
            else:
                out["system"] = AS_SENT[system]
            if system == ICD:
                out["code"] = out["code"].replace(".", "")
        return out
    if isinstance(node, list):
        return [recode(v, in_body_site) for v in node]
    return node


@pytest.fixture(scope="module")
def client(fhir_base_url, tmp_path_factory):
    app = new_app(Settings(dev=True, auth_enabled=False, fhir_allowlist=(fhir_base_url,),
                           database_url=f"sqlite:///{tmp_path_factory.mktemp('ehrcode')}/fb.db"))
    return app.test_client()


def cards_for(client, fhir_base_url, prefix, bundle_change):
    scenario = load_scenario(SETTINGS.fixtures_dir, SID, date.today(), prefix=prefix)
    bundle = bundle_change(copy.deepcopy(scenario.bundle))
    reply = requests.post(fhir_base_url, json=bundle, headers={"Content-Type": "application/fhir+json"}, timeout=30)
    assert reply.status_code == 200, reply.text[:300]
    request = {**scenario.request, "hookInstance": str(uuid.uuid4()), "fhirServer": fhir_base_url}
    request["prefetch"] = ehr_prefetch(client, fhir_base_url, "nerve-cds-patient-view", request["context"])
    response = client.post("/cds-services/nerve-cds-patient-view", json=request)
    assert response.status_code == 200, response.get_json()
    return request["prefetch"], response.get_json()["cards"]


def test_ces_scenario_coded_with_oids_and_undotted_icd_still_gets_the_critical_card(client, fhir_base_url):
    prefetch, cards = cards_for(client, fhir_base_url, "ehr-", recode)
    sent = {system for system, _, _ in codings(prefetch)}
    assert not sent & {ICD, SNOMED, LOINC}, "the EHR's prefetch must carry no canonical system"
    assert "urn:oid:2.16.840.1.113883.6.90" in sent and SNOMED + "/731000124108" in sent

    _, canonical = cards_for(client, fhir_base_url, "canon-", lambda b: b)
    shape = sorted((c["source"]["topic"]["code"], c["indicator"], c["summary"]) for c in cards)
    assert shape == sorted((c["source"]["topic"]["code"], c["indicator"], c["summary"]) for c in canonical)
    (ces,) = [c for c in cards if c["source"]["topic"]["code"] == "cauda-equina-emergency"]
    assert ces["indicator"] == "critical"
    # triggers: clinical labels and our value sets' displays, whatever the record's coding looked like
    assert "- Urinary retention: Retention of urine (disorder) (Observation," in ces["detail"]
    assert "- Saddle anaesthesia or paraesthesia: " in ces["detail"]
    assert "Intervertebral disc disorders with radiculopathy, lumbar region" in ces["detail"]
