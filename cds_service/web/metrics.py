"""Prometheus metrics at /metrics: hook calls and their latency per hook and status, cards per
topic and indicator, FHIR keys that could not be had, feedback-store write errors, work shed.

Off unless NERVE_CDS_METRICS_TOKEN is set, and then only for callers sending it as a Bearer
token. Under `nerve-cds serve` every gunicorn worker counts in its own files in a folder the
master makes (prometheus_client's multiprocess mode, PROMETHEUS_MULTIPROC_DIR), so a scrape that
lands on any worker sees the sums of all of them. prometheus_client is imported, and the metrics
made, only once an app is created: the mode is chosen from that variable at import.
"""
from __future__ import annotations

import hmac
import os
from dataclasses import dataclass
from typing import Any, Iterable

from flask import Flask, Response, request

from ..core.errors import NotFound
from ..core.settings import Settings

MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 4.0, 5.0, 7.5, 10.0)


@dataclass(frozen=True)
class Metrics:
    calls: Any
    latency: Any
    cards: Any
    fhir_failures: Any
    store_errors: Any
    store_writable: Any
    shed: Any


_metrics: Metrics | None = None


def metrics() -> Metrics:
    """The process's metrics, made on first use (one set per process, whatever the apps)."""
    global _metrics
    if _metrics is None:
        from prometheus_client import Counter, Gauge, Histogram

        _metrics = Metrics(
            calls=Counter("nerve_cds_hook_calls", "Hook calls answered, by service, hook and HTTP status",
                          ["service", "hook", "status"]),
            latency=Histogram("nerve_cds_hook_call_seconds", "Time to answer a hook call, by hook and HTTP status",
                              ["hook", "status"], buckets=LATENCY_BUCKETS),
            cards=Counter("nerve_cds_cards", "Cards sent, by topic and indicator", ["topic", "indicator"]),
            fhir_failures=Counter("nerve_cds_fhir_failures", "Prefetch keys that could not be had from the FHIR "
                                  "server (down, silent, refused, too large, out of time), by key", ["key"]),
            store_errors=Counter("nerve_cds_feedback_store_errors", "Feedback-store writes that failed, by "
                                 "operation (issued-cards, feedback)", ["operation"]),
            store_writable=Gauge("nerve_cds_feedback_store_writable", "1 if the feedback store took the last "
                                 "write or probe, 0 if not (the latest any live worker saw)",
                                 multiprocess_mode="livemostrecent"),
            shed=Counter("nerve_cds_shed", "Work refused to keep hook calls on time, by what (call-deadline, "
                         "feedback)", ["what"]),
        )
    return _metrics


def count_call(library: Any, service_id: str | None, status: int, seconds: float) -> None:
    """One answered hook call. Only known service ids become labels (any other is "unknown"), so a
    caller cannot grow the series."""
    service = library.service(service_id) if service_id else None
    name, hook = (service_id, service.hook) if service is not None else ("unknown", "unknown")
    metrics().calls.labels(name, hook, str(status)).inc()
    metrics().latency.labels(hook, str(status)).observe(seconds)


def count_fhir_failures(keys: Iterable[str]) -> None:
    for key in keys:
        metrics().fhir_failures.labels(key).inc()


def count_cards(cards: list[dict[str, Any]]) -> None:
    for card in cards:
        metrics().cards.labels(card["source"].get("topic", {}).get("code", "none"), card["indicator"]).inc()


def observe_store(operation: str, ok: bool) -> None:
    """Background.observe for the feedback store: every write's outcome."""
    if not ok:
        metrics().store_errors.labels(operation).inc()
    metrics().store_writable.set(1 if ok else 0)


def install(app: Flask, settings: Settings) -> None:
    """The /metrics endpoint, behind the operator's token; 404 when no token is set. The metrics
    themselves are made on first use, so a gunicorn master that only checks the app makes none."""
    token = settings.metrics_token.get_secret_value() if settings.metrics_token else None

    @app.get("/metrics")
    def _scrape() -> Any:
        scheme, _, sent = request.headers.get("Authorization", "").partition(" ")
        if token is None:
            raise NotFound("metrics are off (set NERVE_CDS_METRICS_TOKEN)")
        if scheme.lower() != "bearer" or not hmac.compare_digest(sent.strip().encode(), token.encode()):
            return Response("", 401, {"WWW-Authenticate": "Bearer"})
        return Response(_exposition(), 200, {"Content-Type": _content_type(), "Cache-Control": "no-store"})


def _exposition() -> bytes:
    from prometheus_client import REGISTRY, CollectorRegistry, generate_latest, multiprocess

    if os.environ.get(MULTIPROC_DIR):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest(REGISTRY)


def _content_type() -> str:
    from prometheus_client import CONTENT_TYPE_LATEST

    return CONTENT_TYPE_LATEST
