"""Generated broken answers from a FHIR server, served by a real local HTTP server to the real app
fetching every prefetch key: never a 500, never a silent 200 without the card the good data makes.

The good answer is a patient with a cauda equina diagnosis (a CES card). Each case breaks one to
three keys' answers (tests/helpers/broken_fhir.py: a batch-response entry, response or status of
the wrong type; a searchset whose entry, entry item, resource, link, link url, total or type has
the wrong type; a next page that is not a Bundle), and sometimes the batch-response as a whole (a
top-level array, not JSON, the wrong count), so the service falls back to one GET per key. A
broken key the advice needs (patient, conditions, observations) must give a 412 naming it; any
other broken key must leave a 200 that still carries the CES card.
"""
from __future__ import annotations

import json
import uuid
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cds_service.core.settings import Settings
from tests.helpers.apps import new_app, shipped_library
from tests.helpers.broken_fhir import JUNK, broken_batch_entry, broken_value
from tests.helpers.fault_servers import Misbehaving, reply

SERVICE_ID = "nerve-cds-patient-view"
PID = "fz-1"
CASES = 2000
PER_EXAMPLE = 2
CES = {"resourceType": "Condition", "id": "ces", "subject": {"reference": f"Patient/{PID}"},
       "onsetDateTime": (date.today() - timedelta(days=2)).isoformat(),
       "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]},
       "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "G83.4"}]}}
PAGE = "page/next"


def good_answers() -> dict[str, dict]:
    service = shipped_library().service(SERVICE_ID)
    answers: dict[str, dict] = {}
    for key, template in service.prefetch.items():
        if template.startswith("Patient/"):
            answers[key] = {"resourceType": "Patient", "id": PID, "birthDate": "1980-01-01"}
        else:
            entries = [{"resource": CES}] if template.startswith("Condition?") else []
            answers[key] = {"resourceType": "Bundle", "type": "searchset", "entry": entries}
    return answers


class FhirState:
    """What the local FHIR server answers for the current case."""

    def __init__(self) -> None:
        self.batch: tuple[int, bytes] = (405, b'{"resourceType":"OperationOutcome"}')
        self.by_path: dict[str, bytes] = {}

    def respond(self, handler) -> None:
        if handler.command == "POST":
            return reply(*self.batch)(handler)
        path = handler.path[len("/fhir/"):]
        body = next((b for prefix, b in self.by_path.items() if path.startswith(prefix)), b'{"resourceType":"Bundle","type":"searchset"}')
        return reply(200, body)(handler)


@pytest.fixture(scope="module")
def fhir():
    state = FhirState()
    with Misbehaving(state.respond) as server:
        yield state, server.base_url


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    db = tmp_path_factory.mktemp("fuzz-fhir") / "fb.db"
    return new_app(Settings(dev=True, auth_enabled=False, database_url=f"sqlite:///{db}", log_level="CRITICAL",
                            fhir_connect_timeout=2.0, fhir_read_timeout=3.0)).test_client()


BROKEN_BATCH = st.one_of(
    st.sampled_from([b"not json", b"[]", b'[{"resourceType": "Bundle"}]', b'"Bundle"', b"7", b"null", b"{"]),
    JUNK.map(lambda v: json.dumps({"resourceType": "Bundle", "type": "batch-response", "entry": v}).encode()),
    JUNK.map(lambda v: json.dumps({"resourceType": v, "type": "batch-response", "entry": []}).encode()),
    st.just(json.dumps({"resourceType": "Bundle", "type": "batch-response", "entry": [{"response": {"status": "200"}}]}).encode()),
)


def _prefix(template: str) -> str:
    """The path of a template's GET: two keys may search the same type (observations and
    measurements), so each answers its own search."""
    return template.replace("{{context.patientId}}", PID)


def draw_case(data: st.DataObject, answers: dict[str, dict]) -> tuple[tuple[int, bytes], dict[str, bytes], set[str]]:
    """(the batch reply, the GET answers by path prefix, the keys broken)."""
    service = shipped_library().service(SERVICE_ID)
    keys = list(service.prefetch)
    mode = data.draw(st.sampled_from(["batch"] * 5 + ["broken batch"] * 3 + ["no batch"] * 2), label="mode")
    broken = set(data.draw(st.lists(st.sampled_from(keys), min_size=0 if mode == "broken batch" else 1, max_size=3,
                                    unique=True), label="broken keys"))
    values: dict[str, object] = dict(answers)
    entries: dict[str, object] = {k: {"resource": v, "response": {"status": "200 OK"}} for k, v in answers.items()}
    for key in sorted(broken):
        how = data.draw(st.sampled_from(["value", "page"] + (["entry"] if mode == "batch" else [])), label=f"{key} how")
        if how == "entry":
            _, entries[key] = data.draw(broken_batch_entry(answers[key]), label=f"{key} entry")
        elif how == "page" and answers[key].get("resourceType") == "Bundle":
            first = {**answers[key], "link": [{"relation": "next", "url": f"{PAGE}/{key}"}]}
            values[key] = first
            entries[key] = {"resource": first, "response": {"status": "200 OK"}}
            _, page = data.draw(st.one_of(broken_value(answers[key]), st.just(("not a Bundle", answers[keys[0]]))),
                                label=f"{key} page")
            values[f"{PAGE}/{key}"] = page
        else:
            _, values[key] = data.draw(broken_value(answers[key]), label=f"{key} value")
            entries[key] = {"resource": values[key], "response": {"status": "200 OK"}}
    if mode == "batch":
        batch = (200, json.dumps({"resourceType": "Bundle", "type": "batch-response", "entry": [entries[k] for k in keys]}).encode())
    elif mode == "broken batch":
        batch = (200, data.draw(BROKEN_BATCH, label="batch"))
    else:
        batch = (405, b'{"resourceType":"OperationOutcome"}')
    by_path = {k if k.startswith(PAGE) else _prefix(service.prefetch[k]): json.dumps(v).encode() for k, v in values.items()}
    return batch, dict(sorted(by_path.items(), key=lambda kv: -len(kv[0]))), broken


def test_broken_fhir_answers_are_412_or_advice_on_the_good_data(client, fhir):
    state, base_url = fhir
    answers = good_answers()
    required = shipped_library().service(SERVICE_ID).required_prefetch
    count = [0]

    @settings(max_examples=CASES // PER_EXAMPLE)
    @given(data=st.data())
    def some(data):
        for _ in range(PER_EXAMPLE):
            state.batch, state.by_path, broken = draw_case(data, answers)
            r = client.post(f"/cds-services/{SERVICE_ID}", json={
                "hook": "patient-view", "hookInstance": str(uuid.uuid4()), "fhirServer": base_url,
                "context": {"userId": "Practitioner/dr-a", "patientId": PID}})
            count[0] += 1
            body = r.get_json()
            assert r.status_code in (200, 412), (r.status_code, r.data[:300])
            needed = sorted(broken & required)
            if needed:
                assert r.status_code == 412, (broken, r.data[:300])
                assert body["resourceType"] == "OperationOutcome"
                diagnostics = body["issue"][0]["diagnostics"]
                assert all(f"{key}: " in diagnostics for key in needed), (needed, diagnostics)
            else:
                assert r.status_code == 200, (broken, r.data[:300])
                topics = {c["source"]["topic"]["code"] for c in body["cards"]}
                assert "cauda-equina-emergency" in topics, (broken, topics)

    some()
    assert count[0] >= CASES
