"""The compose stack as shipped: loopback-only ports, pinned images, and a service that starts
only once HAPI answers. Docker is not run here; these are the promises the file must keep."""
from __future__ import annotations

import yaml

from tests.helpers.paths import ROOT

COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
SERVICES = COMPOSE["services"]


def test_every_published_port_is_on_loopback():
    published = [(name, port) for name, svc in SERVICES.items() for port in svc.get("ports", [])]
    assert published, "the stack publishes the service and HAPI"
    assert [p for p in published if not str(p[1]).startswith("127.0.0.1:")] == []


def test_every_image_is_pinned():
    images = {name: svc["image"] for name, svc in SERVICES.items() if "image" in svc}
    unpinned = {n: i for n, i in images.items() if ":" not in i or i.endswith(":latest")}
    assert images and unpinned == {}
    base = next(line for line in (ROOT / "Dockerfile").read_text().splitlines() if line.startswith("FROM "))
    assert base.count(".") >= 2, f"the Dockerfile's base image names a patch release: {base}"


def test_the_service_waits_for_hapi_and_its_database():
    waits = SERVICES["nerve-cds"]["depends_on"]
    assert waits["feedback-db"]["condition"] == "service_healthy"
    assert waits["hapi-ready"]["condition"] == "service_completed_successfully"
    probe = SERVICES["hapi-ready"]["command"]
    assert probe[:2] == ["python", "-c"] and "http://hapi:8080/fhir/metadata" in probe[2]
    compile(probe[2], "hapi-ready", "exec")
