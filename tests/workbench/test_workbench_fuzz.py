"""Generated input against every workbench page and form of the real app: never a server error.

The paste form gets real scenario requests with parts replaced by odd JSON (arrays, nested nulls,
wrong types, huge numbers, deep nesting), arbitrary JSON, arbitrary text and raw form bodies that
are not UTF-8; the other pages get odd query strings and paths. Each endpoint gets at least
REQUESTS_PER_ENDPOINT requests; every answer must be 2xx or 4xx. The hypothesis profile is
derandomized (conftest.py), so a failure reproduces.
"""
from __future__ import annotations

import copy
import json
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cds_service.data.scenarios import list_scenarios
from tests.helpers.apps import new_app
from tests.helpers.fuzzjson import slots, wire
from tests.helpers.paths import FIXTURES
from tests.helpers.workbench import dev_settings, form_token

REQUESTS_PER_ENDPOINT = 2000
PER_EXAMPLE = 4
EXAMPLES = settings(max_examples=REQUESTS_PER_ENDPOINT // PER_EXAMPLE)
CLOSED_FHIR = "http://127.0.0.1:9/fhir"  # nothing listens: fails fast, never hangs
SCENARIOS = list_scenarios(FIXTURES)
# Written into the JSON text for a sentinel string: numbers json.dumps cannot produce.
WIRE = {"__1e400__": "1e400", "__-1e400__": "-1e400", "__big__": "9" * 400, "__nan__": "NaN", "__inf__": "Infinity"}
ODD = [None, True, False, 0, -1, 2 ** 63, 10 ** 30, 1e308, -1e308, 5e-324, *WIRE, "", " ", "x" * 300,
       "<script>1</script>", "Patient/other", "2026-02-30", "\u202e\u200b", "\\", "%s", "{{ 7*7 }}",
       [], {}, [{}], [None], [[[]]], {"a": {"b": None}}, {"coding": [{"code": 5}]}, {"reference": 5},
       {"resourceType": "Bundle", "entry": 5}, {"resourceType": "Bundle", "entry": [None, 1, {"resource": []}]},
       {"resourceType": 5}, {"resourceType": "Patient", "id": []}, {"value": "__1e400__", "unit": []}]
LEAVES = st.one_of(st.sampled_from(ODD), st.integers(), st.floats(allow_nan=False), st.text(max_size=10))
JSON = st.recursive(LEAVES, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                   st.dictionaries(st.text(max_size=8), inner, max_size=3)),
                    max_leaves=8)
PASTE_KEYS = st.sampled_from(["hook", "hookInstance", "context", "prefetch", "fhirServer", "extension", "x"])
HOOKS = st.sampled_from(["patient-view", "order-select", "order-sign", "encounter-start", "", 5, None])




def seed_bodies() -> list[dict]:
    """Each scenario as a pasted request, its bundle's resources as prefetch searchsets."""
    bodies = []
    for sid in SCENARIOS:
        folder = FIXTURES / "fhir" / sid
        request = json.loads((folder / "request.json").read_text())
        resources = [e["resource"] for e in json.loads((folder / "bundle.json").read_text())["entry"]]
        kinds = sorted({r["resourceType"] for r in resources})
        prefetch = {k: {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": r} for r in resources
                                                                                   if r["resourceType"] == k]}
                    for k in kinds}
        bodies.append({**request, "prefetch": prefetch})
    return bodies


SEEDS = seed_bodies()




def mutated(data: st.DataObject) -> dict:
    """A scenario request with up to four parts replaced by odd JSON or deleted."""
    body = copy.deepcopy(data.draw(st.sampled_from(SEEDS), label="seed"))
    for _ in range(data.draw(st.integers(1, 4), label="mutations")):
        places = slots(body)
        container, key = places[data.draw(st.integers(0, len(places) - 1), label="where")]
        if isinstance(container, dict) and data.draw(st.booleans(), label="delete"):
            del container[key]
        else:
            container[key] = copy.deepcopy(data.draw(st.one_of(st.sampled_from(ODD), JSON), label="value"))
    return body


def deep(data: st.DataObject) -> str:
    depth = data.draw(st.sampled_from([65, 200, 5000, 100_000]), label="depth")
    opener, closer = data.draw(st.sampled_from([("[", "]"), ('{"a":', "}")]), label="brackets")
    inner = opener * depth + "1" + closer * depth
    return data.draw(st.sampled_from([inner, '{"hook": "patient-view", "context": {}, "prefetch": {"p": ' + inner + "}}",
                                      '{"hook": "patient-view", "context": ' + inner + ', "prefetch": {}}']))


def pasted_text(data: st.DataObject) -> str:
    kind = data.draw(st.sampled_from(["scenario"] * 5 + ["shape"] * 2 + ["json", "text", "deep"]), label="kind")
    if kind == "scenario":
        return wire(mutated(data), WIRE)
    if kind == "shape":
        body = data.draw(st.dictionaries(PASTE_KEYS, JSON, max_size=4), label="shape")
        body.setdefault("hook", data.draw(HOOKS, label="hook"))
        return wire(body, WIRE)
    if kind == "json":
        return wire(data.draw(JSON, label="json"), WIRE)
    if kind == "deep":
        return deep(data)
    return data.draw(st.text(max_size=80), label="text")


def check(response) -> None:
    assert 200 <= response.status_code < 300 or 400 <= response.status_code < 500, (response.status_code,
                                                                                      response.data[:300])


def run_drawn(one) -> None:
    count = [0]

    @EXAMPLES
    @given(data=st.data())
    def some(data):
        for _ in range(PER_EXAMPLE):
            one(data)
            count[0] += 1

    some()
    assert count[0] >= REQUESTS_PER_ENDPOINT, f"only {count[0]} requests were generated"


@pytest.fixture(scope="module")
def folders():
    """The operator's allowed folder: a broken candidate library, request folders with odd files."""
    root = Path(tempfile.mkdtemp())
    (root / "broken").mkdir()
    (root / "broken" / "services.yaml").write_text("services: [")
    (root / "empty").mkdir()
    (root / "requests").mkdir()
    for n, text in enumerate(["{}", "[]", "\xff", '{"hook": "patient-view", "context": {}, "prefetch": []}', "[" * 5000]):
        (root / "requests" / f"{n}.json").write_text(text, encoding="utf-8", errors="surrogateescape")
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def client(tmp_path_factory, folders):
    app = new_app(dev_settings(tmp_path_factory.mktemp("fuzz"), workbench_libraries=(folders,), log_level="CRITICAL",
                               fhir_deadline=1.0))
    return app.test_client()


def test_the_paste_form_never_fails(client):
    token = form_token(client)

    def one(data):
        how = data.draw(st.sampled_from(["form"] * 8 + ["raw", "no token"]), label="how")
        if how == "form":
            check(client.post("/workbench/explain", data={"request": pasted_text(data), "csrf_token": token}))
        elif how == "raw":  # a form body that is not UTF-8 or not form-encoded at all
            raw = data.draw(st.binary(max_size=64), label="raw")
            content_type = data.draw(st.sampled_from(["application/x-www-form-urlencoded", "multipart/form-data",
                                                      "multipart/form-data; boundary=x", "application/json", ""]))
            check(client.post("/workbench/explain", data=b"csrf_token=" + token.encode() + b"&request=" + raw,
                              content_type=content_type))
        else:
            check(client.post("/workbench/explain", data={"request": pasted_text(data)}))

    run_drawn(one)


QUERY_TEXT = st.one_of(st.sampled_from(["", " ", "..", "../..", "/", "/etc", "\x00", "x" * 5000, "%00", "1e400", "-1",
                                        "99999999999999999999", CLOSED_FHIR, "https://", "http://[::1", "file:///etc/passwd",
                                        "javascript:1", "Patient/../x"]), st.text(max_size=30))


def test_explain_from_a_fhir_server_never_fails(client):
    def one(data):
        query = {"fhir_server": data.draw(st.one_of(QUERY_TEXT, st.just(CLOSED_FHIR)), label="server"),
                 "patient": data.draw(QUERY_TEXT, label="patient")}
        check(client.get("/workbench/explain", query_string=query))

    run_drawn(one)


def test_explain_a_scenario_never_fails(client):
    def one(data):
        sid = data.draw(st.one_of(st.text(max_size=30), st.sampled_from(["..", "%2e%2e", "s03-classic-cauda-equina/..",
                                                                        "x" * 3000, "%00", "%ff"])), label="id")
        check(client.get("/workbench/explain/" + sid))

    run_drawn(one)


def test_the_library_preview_never_fails(client, folders):
    inside = [str(folders / name) for name in ("broken", "empty", "requests", "missing", "broken/../empty")]

    def one(data):
        query = {"candidate": data.draw(st.one_of(QUERY_TEXT, st.sampled_from(inside)), label="candidate"),
                 "requests": data.draw(st.one_of(QUERY_TEXT, st.sampled_from(inside)), label="requests")}
        check(client.get("/workbench/diff", query_string=query))

    run_drawn(one)


def test_the_feedback_and_index_pages_never_fail(client):
    def one(data):
        path = data.draw(st.sampled_from(["/workbench/feedback", "/workbench/", "/workbench/diff", "/workbench/explain",
                                          "/workbench/shadow"]))
        query = data.draw(st.dictionaries(st.sampled_from(["weeks", "candidate", "patient", "day", "topic", "x", ""]),
                                          QUERY_TEXT, max_size=2))
        method = data.draw(st.sampled_from(["GET"] * 6 + ["HEAD", "POST", "PUT", "OPTIONS"]), label="method")
        check(client.open(path, method=method, query_string=query))

    run_drawn(one)


@pytest.mark.parametrize("text, words", [
    ('{"hook": [], "context": {}, "prefetch": {}}', "a request needs a known"),  # was a TypeError: 500
    ('{"hook": {"a": 1}, "context": {}, "prefetch": {}}', "a request needs a known"),
    ("[" * 100_000 + "]" * 100_000, "nested more than 64 levels"),  # was a RecursionError: 500
    ('{"hook": "patient-view", "context": {"patientId": 5}, "prefetch": {}}', "context.patientId"),
    ('{"hook": "patient-view", "context": {"patientId": "p1"}, "prefetch": {"p": NaN}}', "not valid JSON"),
])
def test_odd_pasted_requests_are_a_400_that_says_why(client, text, words):
    response = client.post("/workbench/explain", data={"request": text, "csrf_token": form_token(client)})
    assert response.status_code == 400 and words in response.get_data(as_text=True)


@pytest.mark.parametrize("server", ["http://[::1", "http://h:port/fhir", "http://h:99999/fhir", "ftp://h/fhir", "fhir"])
def test_a_fhir_server_that_is_not_a_url_is_a_400(client, server):
    response = client.get("/workbench/explain", query_string={"fhir_server": server, "patient": "p1"})
    assert response.status_code == 400 and "fhirServer is refused" in response.get_data(as_text=True)
