"""Generated requests against every endpoint of the real Flask app: never a server error.

Each hook service gets real scenario requests (full prefetch) with random parts replaced by
odd JSON (nulls, empties, huge numbers, wrong types, markup, other patients), scenario requests
with one prefetch value broken (tests/helpers/broken_fhir.py: a 412 naming the key when the advice
needs it, never a silent 200), plus arbitrary bodies; feedback gets near-valid and arbitrary items; discovery and health checks get odd
methods, headers and query strings. Every reply must be 2xx or 4xx, a 4xx must carry an
OperationOutcome, and a 200 from a hook must still keep the CDS Hooks response rules.
The hypothesis profile is derandomized (conftest.py), so a CI failure reproduces locally.
"""
from __future__ import annotations

import copy
import json
import shutil
import tempfile
import uuid
from datetime import date
from functools import lru_cache
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cds_service.core.settings import Settings
from cds_service.data.scenarios import list_scenarios, load_scenario
from cds_service.web.response import check_response
from tests.helpers.apps import new_app, shipped_library
from tests.helpers.broken_fhir import broken_value
from tests.helpers.calls import CES, SERVICE, hook
from tests.helpers.fuzzjson import slots, wire

REQUESTS_PER_ENDPOINT = 2000
# Several requests per generated example spread hypothesis' fixed cost per example.
PER_EXAMPLE = 4
EXAMPLES = settings(max_examples=REQUESTS_PER_ENDPOINT // PER_EXAMPLE)
CLOSED_FHIR = "http://127.0.0.1:9/fhir"  # allowlisted, nothing listens: fails fast, never hangs
SERVICES = {"patient-view": "nerve-cds-patient-view", "order-select": "nerve-cds-order-select",
            "order-sign": "nerve-cds-order-sign"}
# Written into the JSON text for a sentinel string: numbers json.dumps cannot produce.
WIRE_NUMBERS = {"__1e400__": "1e400", "__-1e400__": "-1e400", "__1e-400__": "1e-400", "__big__": "9" * 400}


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    # In memory-backed /dev/shm where there is one: thousands of feedback commits need no fsync.
    shm = Path("/dev/shm")
    where = Path(tempfile.mkdtemp(dir=shm)) if shm.is_dir() else tmp_path_factory.mktemp("fuzz")
    db = where / "fb.db"
    app = new_app(Settings(dev=True, auth_enabled=False, database_url=f"sqlite:///{db}", pama_system_actions=True,
                           fhir_allowlist=(CLOSED_FHIR,), fhir_deadline=1.0, log_level="CRITICAL",
                           max_body_bytes=200_000))
    yield app.test_client()
    shutil.rmtree(where, ignore_errors=True)


@lru_cache(maxsize=None)
def scenario_bodies(hook: str) -> tuple[str, ...]:
    """Each scenario of `hook` as a request with every prefetch key filled, as JSON text."""
    settings = Settings()
    templates = {"patient": "Patient", "conditions": "Condition", "observations": "Observation",
                 "serviceRequests": "ServiceRequest", "procedures": "Procedure", "imagingStudies": "ImagingStudy",
                 "diagnosticReports": "DiagnosticReport", "medicationStatements": "MedicationStatement"}
    bodies = []
    for sid in list_scenarios(settings.fixtures_dir):
        scenario = load_scenario(settings.fixtures_dir, sid, date(2026, 6, 1))
        if scenario.request["hook"] != hook:
            continue
        resources = [e["resource"] for e in scenario.bundle["entry"]]
        prefetch = {}
        for key, rtype in templates.items():
            found = [r for r in resources if r["resourceType"] == rtype]
            if rtype == "Patient":
                prefetch[key] = found[0] if found else None
            else:
                prefetch[key] = {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": r} for r in found]}
        bodies.append(json.dumps({**scenario.request, "prefetch": prefetch}))
    return tuple(bodies)


# ---- values ---------------------------------------------------------------------------------------
# Odd values drawn from a list (cheap to draw, so the budget goes to requests), plus plain ones.
ODD = [None, True, False, 0, -1, 2 ** 63, 10 ** 30, 1e308, -1e308, 5e-324, *WIRE_NUMBERS,
       "", " ", "x" * 300, "[a](https://evil.example)", "<script>1</script>", "**b** www.evil.example a@b.example",
       "Patient/other", "https://ehr.example.org/fhir/Patient/other", "urn:uuid:1", "0001-01-01T00:00:00+14:00",
       "9999-12-31T23:59:59-14:00", "2026-02-30", "2026", "\u202e\u200b", "{hookInstance}", "%s %d", "\\",
       [], {}, [{}], [None], [[[]]], {"a": {"b": {"c": []}}}, {"coding": []}, {"coding": [{"code": 5}]},
       {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "G83.4"}]}, {"reference": "Patient/other"},
       {"value": "__1e400__", "unit": "mmol/L"}, {"start": "2026-13-01"}, [{"relation": "next", "url": 5}],
       {"resourceType": "OperationOutcome"}, {"resourceType": "Bundle", "entry": 5}, {"resourceType": 5}]
LEAVES = st.one_of(st.sampled_from(ODD), st.integers(), st.floats(allow_nan=False, allow_infinity=False),
                   st.text(max_size=12))
_FLAT = st.one_of(LEAVES, st.lists(LEAVES, max_size=3), st.dictionaries(st.text(max_size=6), LEAVES, max_size=3))
JSON = st.one_of(_FLAT, st.lists(_FLAT, max_size=2), st.dictionaries(st.text(max_size=6), _FLAT, max_size=2))
REPLACEMENT = st.one_of(st.sampled_from(ODD), LEAVES, JSON)




def _zones(body: dict) -> list:
    """The request's top level, its context, and each resource in it: where mutations happen."""
    zones: list = [body, body.get("context", {})]
    for holder in [body.get("context", {}).get("draftOrders", {}), *(body.get("prefetch") or {}).values()]:
        if isinstance(holder, dict):
            zones += [e["resource"] for e in holder.get("entry", []) if isinstance(e, dict) and "resource" in e] or [holder]
    return zones


def mutate(data: st.DataObject, value: dict) -> dict:
    """A few random parts of `value` replaced by odd JSON, deleted, or moved to another patient."""
    zones = _zones(value)
    for _ in range(data.draw(st.integers(1, 4), label="mutations")):
        places = slots(zones[data.draw(st.integers(0, len(zones) - 1), label="zone")])
        if not places:
            break
        container, key = places[data.draw(st.integers(0, len(places) - 1), label="where")]
        action = data.draw(st.sampled_from(["replace", "replace", "delete", "other-patient"]), label="how")
        if action == "delete" and isinstance(container, dict):
            del container[key]
        elif action == "other-patient":
            container[key] = {"reference": data.draw(st.sampled_from(["Patient/other", "Group/1", "urn:uuid:x"]))}
        else:
            container[key] = copy.deepcopy(data.draw(REPLACEMENT, label="value"))  # drawn values may be shared
    return value




RAW = st.one_of(st.binary(max_size=64), st.text(max_size=64).map(str.encode), JSON.map(lambda v: wire(v, WIRE_NUMBERS).encode()))
CONTENT_TYPES = st.sampled_from(["application/json"] * 8 + ["application/fhir+json", "text/plain", "", "application/json; charset=latin-1"])


# ---- checks ---------------------------------------------------------------------------------------
def _not_json(name: str):
    raise AssertionError(f"the service sent {name}, which is not JSON")


def check(response, method: str = "POST", hook: bool = False) -> None:
    status = response.status_code
    assert 200 <= status < 300 or 400 <= status < 500, (status, response.data[:300])
    if method == "HEAD" or status in (204,):
        return
    body = json.loads(response.data, parse_constant=_not_json) if response.data else None  # no NaN/Infinity
    if status >= 400:
        assert body["resourceType"] == "OperationOutcome" and body["issue"][0]["diagnostics"], body
    elif hook:
        check_response(body)


def run_many(test, count: list) -> None:
    test()
    assert count[0] >= REQUESTS_PER_ENDPOINT, f"only {count[0]} requests were generated"


def run_drawn(one) -> None:
    """`one(data)` sends one generated request; hypothesis calls it PER_EXAMPLE times per example."""
    count = [0]

    @EXAMPLES
    @given(data=st.data())
    def some(data):
        for _ in range(PER_EXAMPLE):
            one(data)
            count[0] += 1

    run_many(some, count)


# ---- endpoints ------------------------------------------------------------------------------------
@pytest.mark.parametrize("hook", list(SERVICES))
def test_hook_service_never_fails(client, hook):
    seeds = scenario_bodies(hook)
    assert seeds

    def one(data):
        kind = data.draw(st.sampled_from(["scenario"] * 6 + ["broken"] * 2 + ["raw", "json"]), label="kind")
        content_type = "application/json"
        if kind == "broken":
            broken_prefetch_is_refused(client, data, seeds, hook)
            return
        if kind == "scenario":
            body = json.loads(data.draw(st.sampled_from(seeds), label="seed"))
            body["hookInstance"] = str(uuid.uuid4())
            if data.draw(st.booleans(), label="fetch"):
                body["fhirServer"] = data.draw(st.sampled_from([CLOSED_FHIR, "https://ehr.example.org/fhir", "not a url"]))
            payload = wire(mutate(data, body), WIRE_NUMBERS).encode()
            content_type = data.draw(CONTENT_TYPES, label="content type")
        elif kind == "raw":
            payload = data.draw(RAW, label="raw")
        else:
            payload = wire({"hook": hook, "hookInstance": "h", "context": data.draw(JSON), "prefetch": data.draw(JSON)}, WIRE_NUMBERS).encode()
        check(client.post(f"/cds-services/{SERVICES[hook]}", data=payload, content_type=content_type), hook=True)

    run_drawn(one)


def broken_prefetch_is_refused(client, data: st.DataObject, seeds: tuple[str, ...], hook: str) -> None:
    """One prefetch value of a scenario sent malformed: a key the advice needs is a 412 naming it,
    any other key is left out (a 200 that keeps the CDS Hooks rules)."""
    body = json.loads(data.draw(st.sampled_from(seeds), label="seed"))
    body["hookInstance"] = str(uuid.uuid4())
    key = data.draw(st.sampled_from(sorted(k for k, v in body["prefetch"].items() if isinstance(v, dict))), label="key")
    _, body["prefetch"][key] = data.draw(broken_value(body["prefetch"][key]), label="broken")
    response = client.post(f"/cds-services/{SERVICES[hook]}", data=wire(body, WIRE_NUMBERS).encode(), content_type="application/json")
    check(response, hook=True)
    needed = key in shipped_library().service(SERVICES[hook]).required_prefetch and body["prefetch"][key] is not None
    assert response.status_code == (412 if needed else 200), (key, response.data[:300])
    if needed:
        assert f"{key}: " in response.get_json()["issue"][0]["diagnostics"]


# RFC 3339-shaped, from the first to the last representable instant and impossible dates between.
STAMPS = st.builds("{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}{}".format, st.integers(1, 9999), st.integers(0, 13),
                   st.integers(0, 32), st.integers(0, 24), st.integers(0, 60), st.integers(0, 60),
                   st.sampled_from(["Z", "z", "+00:00", "+14:00", "-12:00", "+23:59", ".5Z"]))
# CES cards the patient-view service issued to the fuzzer (its anonymous client), so that items
# also get past the card check and reach the store.
ISSUED: list[str] = []
FEEDBACK_ITEM = st.fixed_dictionaries(
    {"card": st.one_of(st.uuids().map(str), JSON, st.deferred(lambda: st.sampled_from(ISSUED))),
     "outcome": st.sampled_from(["accepted", "overridden", "other"]),
     "outcomeTimestamp": st.one_of(STAMPS, st.sampled_from([v for v in ODD if isinstance(v, str)]), JSON)},
    optional={"acceptedSuggestions": st.one_of(st.lists(st.fixed_dictionaries({"id": st.text(max_size=10)}), max_size=2), JSON),
              "overrideReason": st.one_of(st.fixed_dictionaries({"reason": st.fixed_dictionaries(
                  {"system": st.text(max_size=300), "code": st.text(max_size=10)}), "userComment": st.text(max_size=30)}), JSON)})


def test_feedback_never_fails(client):
    ISSUED.extend(card["uuid"] for _ in range(3) for card in client.post(SERVICE, json=hook(prefetch=CES)).get_json()["cards"])
    assert len(ISSUED) == 3

    def one(data):
        service = data.draw(st.sampled_from(list(SERVICES.values())), label="service")
        kind = data.draw(st.sampled_from(["items"] * 4 + ["raw"]), label="kind")
        if kind == "items":
            payload = wire({"feedback": data.draw(st.lists(FEEDBACK_ITEM, max_size=3), label="items")}, WIRE_NUMBERS).encode()
        else:
            payload = data.draw(RAW, label="raw")
        check(client.post(f"/cds-services/{service}/feedback", data=payload, content_type=data.draw(CONTENT_TYPES)))

    run_drawn(one)


@pytest.mark.parametrize("path", ["/cds-services", "/healthz", "/readyz"])
def test_discovery_and_health_never_fail(client, path):
    count = [0]

    @EXAMPLES
    @given(st.lists(st.tuples(
        st.sampled_from(["GET"] * 4 + ["HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"]),
        st.dictionaries(st.sampled_from(["", "a", "_format", "patient", "\u00e9"]), st.text(max_size=12), max_size=2),
        st.dictionaries(st.sampled_from(["Origin", "Accept", "Authorization", "Content-Type", "X-Request-Id"]),
                        st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=24), max_size=2),
        st.one_of(st.none(), st.binary(max_size=32))), min_size=PER_EXAMPLE, max_size=PER_EXAMPLE))
    def some(requests):
        for method, query, headers, body in requests:
            count[0] += 1
            check(client.open(path, method=method, query_string=query, headers=headers, data=body), method)

    run_many(some, count)
