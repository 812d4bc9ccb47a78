"""Long records (issue #19): prefetch size, time and FHIR round trips, as ratios against baselines
measured in the same run.

    .venv/bin/python bench/large_record.py [--sizes 3500 20000]

For each record (tests/helpers/large_record.py: N vital signs, back pain with sciatica and new
urinary retention), loaded into a local sekmet-fhir:
  prefetch  the body an EHR sends for the whole record (unfiltered searches, as before) and for the
            service's templates (what running them finds, worked out here by code): bytes, and the
            time the in-process app takes to answer it vs json.loads of the same body (the baseline);
  fetch     the service fetching everything itself (no prefetch; data/prefetch.gather): round trips and time, vs one FHIR
            read of the Patient (the baseline round trip), with the templates and with the old
            unfiltered Observation search.
sekmet-fhir sorts by date in a time that grows faster than the record (7,000 Observations: 9 s for
`_sort=-date`, 0.2 s without), where an EHR's database uses an index; so the fetch runs the
templates without `_sort` (the same round trips). Each answer must carry the critical cauda
equina card. Loopback only; not a timing test.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from urllib.parse import parse_qsl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the test helpers: tests.helpers

import requests  # noqa: E402

from cds_service import create_app  # noqa: E402
from cds_service.core.settings import Settings  # noqa: E402
from cds_service.data.prefetch import gather  # noqa: E402
from cds_service.library.loader import load_library  # noqa: E402
from tests.helpers.fault_servers import RecordingProxy  # noqa: E402
from tests.helpers.fhir_server import SekmetServer  # noqa: E402
from tests.helpers.large_record import record, request, searchset, transactions  # noqa: E402

SERVICE_ID = "nerve-cds-patient-view"
PATH = f"/cds-services/{SERVICE_ID}"
OLD_OBSERVATIONS = "Observation?patient={{context.patientId}}&_count=100"  # the template before issue #19


def timed(fn, least: int = 3) -> float:
    samples = []
    for _ in range(least):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return sorted(samples)[len(samples) // 2]



def critical(response) -> None:
    assert response.status_code == 200, response.data[:300]
    topics = {c["source"]["topic"]["code"] for c in response.get_json()["cards"]}
    assert "cauda-equina-emergency" in topics, topics


def templates_prefetch(resources: list[dict], templates: dict[str, str]) -> dict:
    """What an EHR sends running the templates on this record: Patient, every Condition, the
    Observations whose code a template names (newest first where it sorts), nothing else."""
    prefetch: dict = {}
    for key, template in templates.items():
        kind, _, query = template.partition("?")
        params = dict(parse_qsl(query))
        if kind.startswith("Patient/"):
            prefetch[key] = resources[0]
            continue
        found = [r for r in resources if r["resourceType"] == kind]
        if "code" in params:
            codes = set(params["code"].split(","))
            found = [r for r in found if any(c["code"] in codes for c in r["code"]["coding"])]
        if params.get("_sort") == "-date":
            found.sort(key=lambda r: r.get("effectiveDateTime", ""), reverse=True)
        prefetch[key] = searchset(found) if found else None
    return prefetch


def whole_prefetch(resources: list[dict], keys: list[str]) -> dict:
    prefetch: dict = {k: None for k in keys}
    prefetch.update(patient=resources[0],
                    conditions=searchset([r for r in resources if r["resourceType"] == "Condition"]),
                    observations=searchset([r for r in resources if r["resourceType"] == "Observation"]))
    return prefetch


def fetch_trips(base: str, pid: str, templates: dict[str, str], required: frozenset[str], settings: Settings) -> tuple[int, dict]:
    gathered = gather(templates, required, {"patientId": pid}, None, None, base, None, settings, (base,), budget=120.0)
    return gathered.round_trips, gathered.sources


def measure(size: int, server: SekmetServer, settings: Settings) -> None:
    pid = f"bench-long-{size}"
    resources = record(pid, size)
    started = time.perf_counter()
    for bundle in transactions(resources):
        requests.post(server.base_url, json=bundle, timeout=600).raise_for_status()
    load_s = time.perf_counter() - started
    library = load_library(settings.cards_dir)
    service = library.service(SERVICE_ID)
    assert service is not None
    app = create_app(settings, library=library)
    client = app.test_client()
    print(f"\n{size} vital signs ({len(resources)} resources; loading into sekmet took {load_s:.1f} s)")

    print(f"  {'prefetch':<22} {'bytes':>11} {'x limit':>8} {'answer ms':>10} {'loads ms':>9} {'answer/loads':>13}")
    for name, prefetch in (("whole record", whole_prefetch(resources, list(service.prefetch))),
                           ("templates", templates_prefetch(resources, dict(service.prefetch)))):
        raw = json.dumps(request(pid, prefetch=prefetch))
        critical(client.post(PATH, data=raw, content_type="application/json"))
        answer = timed(lambda: client.post(PATH, data=raw, content_type="application/json"))
        loads = timed(lambda: json.loads(raw))
        print(f"  {name:<22} {len(raw):>11,} {len(raw) / settings.max_body_bytes:>8.2f} {answer * 1000:>10.1f} "
              f"{loads * 1000:>9.1f} {answer / loads:>13.1f}")

    with RecordingProxy(server.base_url) as proxy:
        one_read = timed(lambda: requests.get(f"{proxy.base_url}/Patient/{pid}", timeout=30))
        fetch_settings = settings.model_copy(update={"fhir_allowlist": (proxy.base_url,), "fhir_deadline": 120.0,
                                                     "call_deadline": 180.0})
        unsorted = {k: t.replace("&_sort=-date", "") for k, t in service.prefetch.items()}
        started = time.perf_counter()
        trips, sources = fetch_trips(proxy.base_url, pid, unsorted, service.required_prefetch, fetch_settings)
        fetched = time.perf_counter() - started
        assert set(sources.values()) <= {"fetched"}, sources
        old = {**unsorted, "observations": OLD_OBSERVATIONS}
        many_pages = fetch_settings.model_copy(update={"fhir_max_pages": 1000})
        started = time.perf_counter()
        old_trips, _ = fetch_trips(proxy.base_url, pid, old, service.required_prefetch, many_pages)
        old_s = time.perf_counter() - started
    print(f"  {'fetch':<22} {'round trips':>11} {'time ms':>10} {'x one read':>11}   (one FHIR read: {one_read * 1000:.1f} ms)")
    print(f"  {'templates':<22} {trips:>11} {fetched * 1000:>10.1f} {fetched / one_read:>11.1f}")
    print(f"  {'unfiltered (old)':<22} {old_trips:>11} {old_s * 1000:>10.1f} {old_s / one_read:>11.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[3500, 20000], help="vital signs per record")
    args = parser.parse_args()
    settings = Settings(dev=True, auth_enabled=False, database_url="sqlite://", log_level="ERROR")
    print(f"body limit NERVE_CDS_MAX_BODY_BYTES={settings.max_body_bytes:,}; pages per key {settings.fhir_max_pages}")
    server = SekmetServer().start()
    try:
        for size in args.sizes:
            measure(size, server, settings)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
