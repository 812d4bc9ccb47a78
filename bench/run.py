"""nerve-cds benchmark: one command, figures as ratios against baselines measured in the same run.

    .venv/bin/python bench/run.py [--seconds 5]

(a) in-process engine time vs json.loads of the same body, for ~50, 500 and 5,000 resources;
(b) over HTTP, the service under the gunicorn configuration `nerve-cds serve` uses vs a bare
    Flask app under the same gunicorn settings, driven from a separate process at concurrency 8
    and 32, for ~50, 500 and 5,000 resources: requests/s, p50, p99, server CPU per request, and
    the CPU ratio (bench/http_load.py); then the same in the production configuration (JWT on,
    PostgreSQL) at 50 and 500;
(c) the fallback path: FHIR round trips per hook call and the latency it adds, against a local
    sekmet-fhir;
(d) where the service's CPU goes over HTTP at 50 and 500 resources: the service as in (b), then
    with its engine's answer replayed from the first call, then with the FHIR reading replayed too
    (bench/without.py), each against the floor: what is left is the work every call does anyway
    (request and response checks, the issued-card row, the log line).
Loopback only; every loop is bounded in count or time. Not a timing test: tests/project/test_bench.py
runs it briefly to check that it still works, and asserts no speed.
"""
from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import statistics
import sys
import time
import uuid
from datetime import date, datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the test helpers: tests.helpers

from bench import http_load  # noqa: E402
from cds_service import create_app  # noqa: E402
from cds_service.core.settings import Settings  # noqa: E402
from cds_service.data.scenarios import load_scenario  # noqa: E402
from cds_service.engine.advise import advise  # noqa: E402
from cds_service.library.loader import Library, load_library  # noqa: E402

SIZES = (50, 500, 5000)
SERVICE = "nerve-cds-patient-view"
ORDER = {"Patient": "patient", "Condition": "conditions", "Observation": "observations", "ServiceRequest": "serviceRequests",
         "Procedure": "procedures", "ImagingStudy": "imagingStudies", "DiagnosticReport": "diagnosticReports",
         "MedicationStatement": "medicationStatements", "CarePlan": "carePlans", "MedicationRequest": "medicationRequests",
         "Medication": "medicationRequests"}


def noise(i: int, pid: str) -> dict:
    """Unrelated record content: vitals, common conditions, routine labs."""
    subject = {"reference": f"Patient/{pid}"}
    kind = i % 4
    if kind == 0:
        return {"resourceType": "Observation", "id": f"bn{i}", "status": "final", "subject": subject,
                "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "vital-signs"}]}],
                "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4", "display": "Heart rate"}]},
                "valueQuantity": {"value": 60 + i % 30, "unit": "/min", "system": "http://unitsofmeasure.org", "code": "/min"},
                "effectiveDateTime": f"2026-{1 + i % 12:02d}-{1 + i % 28:02d}T08:00:00Z"}
    if kind == 1:
        code = ("I10", "E11.9", "J45.909", "K21.9")[i % 4]
        return {"resourceType": "Condition", "id": f"bn{i}", "subject": subject,
                "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]},
                "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": code}]}, "onsetDateTime": "2019-05-01"}
    if kind == 2:
        return {"resourceType": "Observation", "id": f"bn{i}", "status": "final", "subject": subject,
                "code": {"coding": [{"system": "http://loinc.org", "code": "2345-7", "display": "Glucose"}]},
                "valueQuantity": {"value": 5.4, "unit": "mmol/L"}, "effectiveDateTime": "2026-03-01",
                "referenceRange": [{"low": {"value": 3.9, "unit": "mmol/L"}, "high": {"value": 5.6, "unit": "mmol/L"}}]}
    return {"resourceType": "Observation", "id": f"bn{i}", "status": "final", "subject": subject,
            "code": {"coding": [{"system": "http://loinc.org", "code": "2823-3"}]},
            "valueQuantity": {"value": 4.1, "unit": "mmol/L"}, "effectiveDateTime": "2026-02-01"}


def patient(size: int) -> tuple[dict, list[dict]]:
    """Scenario S2 (lumbar radiculopathy at 8 weeks) padded with unrelated resources to `size`."""
    scenario = load_scenario(Settings().fixtures_dir, "s02-persistent-radiculopathy-after-pt", date.today())
    resources = [e["resource"] for e in scenario.bundle["entry"]]
    resources += [noise(i, scenario.patient_id) for i in range(max(0, size - len(resources)))]
    return scenario.request, resources


@functools.cache
def library() -> Library:
    return load_library(Settings().cards_dir)


def hook_body(size: int) -> dict:
    request, resources = patient(size)
    # every key the discovery document asks for, null where the record has nothing, as an EHR sends it
    prefetch: dict = dict.fromkeys(library().service(SERVICE).prefetch)
    for resource in resources:
        key = ORDER[resource["resourceType"]]
        if key == "patient":
            prefetch[key] = resource
        else:
            prefetch[key] = prefetch[key] or {"resourceType": "Bundle", "type": "searchset", "entry": []}
            prefetch[key]["entry"].append({"resource": resource})
    return {**request, "hookInstance": str(uuid.uuid4()), "prefetch": prefetch}


def timed(fn, budget: float = 1.0, least: int = 5) -> float:
    """Median seconds per call over at least `least` calls and about `budget` seconds."""
    samples, spent = [], 0.0
    while len(samples) < least or spent < budget:
        t = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t)
        spent += samples[-1]
        if len(samples) >= 5000:
            break
    return statistics.median(samples)


def in_process() -> list[tuple]:
    lib = library()
    service = lib.service(SERVICE)
    rows = []
    for size in SIZES:
        raw = json.dumps(hook_body(size))
        body = json.loads(raw)
        context = {**body["context"], "hookInstance": body["hookInstance"]}
        now = datetime.now(timezone.utc)
        loads = timed(lambda: json.loads(raw))
        engine = timed(lambda: advise(lib, service, context, body["prefetch"], now))
        rows.append((size, len(raw) // 1024, loads * 1000, engine * 1000, engine / loads))
    return rows


def over_http(seconds: float, production: bool) -> list[tuple]:
    """(size, concurrency, service figures, floor figures) per row, each pair measured back to back."""
    rows = []
    sizes = (50, 500) if production else SIZES
    with http_load.service(production) as (service_port, service_pid, signer), http_load.floor() as (floor_port, floor_pid):
        for size in sizes:
            payload = json.dumps(hook_body(size)).encode()
            for concurrency in (8, 32):
                svc = http_load.drive(service_port, service_pid, payload, concurrency, seconds, signer)
                base = http_load.drive(floor_port, floor_pid, payload, concurrency, seconds)
                rows.append((size, concurrency, svc, base))
    return rows


def attribution(seconds: float) -> list[tuple]:
    """(size, part left out, service figures, floor figures), each pair measured back to back."""
    rows = []
    with http_load.floor() as (floor_port, floor_pid):
        for size in (50, 500):
            payload = json.dumps(hook_body(size)).encode()
            for without in (None, "engine", "engine+reading"):
                with http_load.service(False, without) as (port, pid, _):
                    svc = http_load.drive(port, pid, payload, 8, seconds)
                base = http_load.drive(floor_port, floor_pid, payload, 8, seconds)
                rows.append((size, without or "nothing", svc, base))
    return rows


def print_http(rows: list[tuple]) -> None:
    print(f"{'res':>4} {'conc':>4} | {'svc rps':>8} {'p50 ms':>7} {'p99 ms':>7} {'cpu ms/req':>10} | "
          f"{'floor rps':>9} {'p50 ms':>7} {'p99 ms':>7} {'cpu ms/req':>10} | {'cpu ratio':>9}")
    for size, conc, svc, base in rows:
        print(f"{size:>4} {conc:>4} | {svc['rps']:>8.0f} {svc['p50']:>7.1f} {svc['p99']:>7.1f} {svc['cpu']:>10.2f} | "
              f"{base['rps']:>9.0f} {base['p50']:>7.1f} {base['p99']:>7.1f} {base['cpu']:>10.2f} | {svc['cpu'] / base['cpu']:>9.2f}")


def fallback() -> dict:
    import requests

    from tests.helpers.fault_servers import RecordingProxy
    from tests.helpers.fhir_server import SekmetServer

    server = SekmetServer().start()
    try:
        request, resources = patient(500)
        bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [
            {"resource": r, "request": {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"}} for r in resources]}
        requests.post(server.base_url, json=bundle, timeout=120).raise_for_status()
        with RecordingProxy(server.base_url) as proxy:
            app = create_app(Settings(dev=True, auth_enabled=False, database_url="sqlite://", fhir_allowlist=(proxy.base_url,),
                                      log_level="ERROR"))
            client = app.test_client()
            path = f"/cds-services/{SERVICE}"
            fetch_body = {**request, "fhirServer": proxy.base_url}
            calls = 5
            started = time.perf_counter()
            for _ in range(calls):
                assert client.post(path, json={**fetch_body, "hookInstance": str(uuid.uuid4())}).status_code == 200
            fetched = (time.perf_counter() - started) / calls
            trips = len(proxy.seen) / calls
            batches = sum(1 for s in proxy.seen if s["method"] == "POST") / calls
        body = hook_body(500)
        prefetched = timed(lambda: app.test_client().post(path, json=body), budget=1.0)
        return {"trips": trips, "batches": batches, "fetched_ms": fetched * 1000, "prefetched_ms": prefetched * 1000}
    finally:
        server.stop()


def machine() -> str:
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor())
    return f"{model}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()} {platform.release()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="load per HTTP measurement")
    parser.add_argument("--engine-only", action="store_true", help="only (a), the in-process engine figures")
    args = parser.parse_args()
    print(f"machine: {machine()}\n")
    print("(a) in-process: engine (record -> findings -> rules -> cards) vs json.loads of the same body")
    print(f"{'resources':>9} {'body KB':>8} {'loads ms':>9} {'engine ms':>10} {'engine/loads':>13}")
    for size, kb, loads, engine, ratio in in_process():
        print(f"{size:>9} {kb:>8} {loads:>9.3f} {engine:>10.3f} {ratio:>13.2f}")
    if args.engine_only:
        return
    print(f"\n(b) over HTTP: nerve-cds serve --dev ({http_load.WORKERS} gevent workers, SQLite) vs a bare Flask floor, same gunicorn")
    print_http(over_http(args.seconds, production=False))
    print("\n(b') the production configuration: JWT on (a fresh ES384 token per call), PostgreSQL, vs the same floor")
    try:
        print_http(over_http(args.seconds, production=True))
    except LookupError as exc:
        print(f"skipped: {exc}")
    fb = fallback()
    print("\n(c) fallback fetch (500 resources, local sekmet-fhir behind a counting proxy)")
    print(f"FHIR round trips per hook call: {fb['trips']:.1f} ({fb['batches']:.1f} batch, the rest searchset pages)")
    print(f"latency: fetched {fb['fetched_ms']:.1f} ms vs prefetched {fb['prefetched_ms']:.1f} ms "
          f"(+{fb['fetched_ms'] - fb['prefetched_ms']:.1f} ms)")
    print("\n(d) where the CPU goes: nerve-cds serve --dev with a part answered from the first call, vs the floor, concurrency 8")
    print(f"{'res':>4} {'left out':>15} | {'cpu ms/req':>10} | {'floor cpu':>9} | {'cpu ratio':>9}")
    for size, without, svc, base in attribution(args.seconds):
        print(f"{size:>4} {without:>15} | {svc['cpu']:>10.2f} | {base['cpu']:>9.2f} | {svc['cpu'] / base['cpu']:>9.2f}")


if __name__ == "__main__":
    main()
