"""The CDS Hooks endpoints: discovery, service calls, feedback, and health checks.

A service call runs straight down the pipeline: parse -> gather data -> advise -> check -> send.
"""
from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Any, Callable

from flask import Blueprint, current_app, g, jsonify, request

from ..core.cardids import ANONYMOUS_CLIENT, CardIds
from ..core.errors import (
    BadRequest,
    DeadlinePassed,
    NotFound,
    PayloadTooLarge,
    PreconditionFailed,
    ServerError,
    ServiceUnavailable,
    UnknownReference,
    UnsupportedMediaType,
)
from ..data import prefetch
from ..data.ownership import counts
from ..engine.advise import advise
from ..hooks.requests import parse_request
from ..library.loader import Library
from ..storage.interface import StoreRefused, StoreUnavailable, Unstorable
from . import metrics
from .feedback import parse_feedback
from .issued import issued_call
from .load import Load
from .response import ResponseError, check_response
from .shadow import ShadowJob

bp = Blueprint("cds", __name__)

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _library() -> Library:
    return current_app.extensions["nerve_cds.library"]


def _client() -> str:
    """Who is calling: the JWT `iss` of the verified client, or the one anonymous client when
    authentication is off (dev mode)."""
    client = getattr(g, "cds_client", None)
    return client.iss if client is not None else ANONYMOUS_CLIENT


def _card_ids() -> CardIds:
    return current_app.extensions["nerve_cds.card_ids"]


def _load() -> Load:
    return current_app.extensions["nerve_cds.load"]


def _time_left(doing: str) -> float:
    """Seconds left of this call's deadline; DeadlinePassed (503) when none, so a call that waited
    too long (for the CPU, for its body, for a JWK Set) costs nothing more and never answers
    after the EHR has stopped waiting."""
    left = g.deadline - time.monotonic()
    if left <= 0:
        metrics.metrics().shed.labels("call-deadline").inc()
        seconds = current_app.config["NERVE_CDS_SETTINGS"].call_deadline
        raise DeadlinePassed(f"no advice: the {seconds:g} s deadline of this call passed {doing}; "
                             "this is not an absence of findings")
    return left


# Kept from the call's deadline for the engine and the answer when the rest goes to FHIR work.
ANSWER_RESERVE = 0.1  # share of the call deadline


def _json_body(too_large: str = "") -> bytes:
    """The request body; `too_large` is added to the 413's message (what the client can do)."""
    settings = current_app.config["NERVE_CDS_SETTINGS"]
    mimetype = request.mimetype or ""
    if mimetype != "application/json" and not mimetype.endswith("+json"):
        raise UnsupportedMediaType("Content-Type must be application/json")
    length = request.content_length
    if length is not None and length > settings.max_body_bytes:
        raise PayloadTooLarge(f"request body over {settings.max_body_bytes} bytes{too_large}")
    body = request.get_data(cache=False)
    g.body_read = True
    if len(body) > settings.max_body_bytes:
        raise PayloadTooLarge(f"request body over {settings.max_body_bytes} bytes{too_large}")
    return body


# A cut JSON body cannot be read in part, so a hook call over the limit gets no advice: say what to do.
HOOK_TOO_LARGE = (", so no advice: send the prefetch the discovery templates ask for (Observations filtered by "
                  "code), or leave the largest prefetch keys out and send fhirServer with fhirAuthorization so the "
                  "service fetches them itself; the operator can raise NERVE_CDS_MAX_BODY_BYTES")


@bp.get("/cds-services")
def discovery() -> Any:
    return jsonify({"services": [svc.discovery() for svc in _library().services]})


@bp.post("/cds-services/<service_id>")
def call_service(service_id: str) -> Any:
    with _load().hook_call():
        return _call_service(service_id)


def _call_service(service_id: str) -> Any:
    started = time.perf_counter()
    library = _library()
    service = library.service(service_id)
    if service is None:
        raise NotFound(f"no CDS service with id '{service_id}'")
    g.log_fields = {"service": service_id}
    _time_left("before its request was read")  # waiting for the CPU: refused before any more is spent on it
    body = _json_body(HOOK_TOO_LARGE)
    _time_left("while its request was read")
    hook_request, context = parse_request(body, service.hook)
    g.log_fields["hookInstance"] = hook_request.hookInstance
    settings = current_app.config["NERVE_CDS_SETTINGS"]
    client = getattr(g, "cds_client", None)
    allowlist = tuple(getattr(client, "fhir_servers", ()) or ()) or settings.fhir_allowlist
    raw_context = dict(hook_request.context)
    left = _time_left("before its data was gathered")
    try:
        gathered = prefetch.gather(
            templates=service.prefetch,
            required=service.required_prefetch,
            context=raw_context,
            user_id=context.userId,
            prefetch=hook_request.prefetch,
            fhir_server=hook_request.fhirServer,
            access_token=hook_request.access_token,
            settings=settings,
            allowlist=allowlist,
            budget=min(settings.fhir_deadline, left - ANSWER_RESERVE * settings.call_deadline),
        )
    except PreconditionFailed as exc:
        metrics.count_fhir_failures(exc.keys)
        raise
    metrics.count_fhir_failures([k for k, source in gathered.sources.items() if source in ("failed", "partial")])
    _time_left("while its data was gathered")
    g.log_fields["prefetch"] = gathered.sources
    g.log_fields["fhirRoundTrips"] = gathered.round_trips
    clock: Clock = current_app.config["NERVE_CDS_CLOCK"]
    raw_context["hookInstance"] = hook_request.hookInstance
    missing = frozenset(k for k, source in gathered.sources.items() if source in ("failed", "partial"))
    now, card_id = clock(), _card_ids().minter(service_id, _client())
    advice = advise(library, service, raw_context, gathered.data, now, pama=settings.pama_system_actions, missing=missing,
                    card_id=card_id, owner=gathered.owner, record=gathered.record)
    payload: dict[str, Any] = {"cards": advice.cards}
    if advice.system_actions:
        payload["systemActions"] = advice.system_actions
    try:
        check_response(payload)
    except ResponseError as exc:
        raise ServerError(f"the service built a response that breaks CDS Hooks 2.0: {exc}") from None
    metrics.count_cards(advice.cards)
    g.log_fields["cards"] = [c["source"].get("topic", {}).get("code") for c in advice.cards]
    g.log_fields["dataQualityNotes"] = advice.data_quality + len(advice.set_aside)
    g.log_fields["unreadable"] = advice.unreadable  # per reason; never what was there
    g.log_fields["setAside"] = counts(advice.set_aside)
    g.log_fields["shadow"] = list(advice.shadow)  # §6.14: topics shadow-status rules would have shown
    g.log_fields["adviseMs"] = round((time.perf_counter() - started) * 1000, 2)
    storage = current_app.extensions.get("nerve_cds.storage")
    if storage is not None and advice.uncovered:
        storage.uncovered.note(advice.uncovered)
    g.log_fields["uncoveredCodes"] = len(advice.uncovered)
    store = current_app.extensions.get("nerve_cds.feedback")
    if store is not None:
        try:
            call = issued_call(advice.card_rules, _client(), context.userId, context.patientId, _card_ids())
            store.remember_cards(service_id, _client(), hook_request.hookInstance, advice.cards, library.version, call)
        except Unstorable as exc:
            raise BadRequest(str(exc)) from None
    shadow = current_app.extensions.get("nerve_cds.shadow")
    if shadow is not None:  # the answer is built: the candidate library gets the same inputs, later
        shadow.submit(ShadowJob(service_id, hook_request.hookInstance, raw_context, gathered.record, now, missing,
                                settings.pama_system_actions, card_id, advice.cards, gathered.owner))
    return jsonify(payload)


@bp.post("/cds-services/<service_id>/feedback")
def feedback(service_id: str) -> Any:
    if _library().service(service_id) is None:
        raise NotFound(f"no CDS service with id '{service_id}'")
    g.log_fields = {"service": service_id, "endpoint": "feedback"}
    if _load().busy():  # hook calls first; feedback is idempotent and can come again
        metrics.metrics().shed.labels("feedback").inc()
        raise ServiceUnavailable("busy with hook calls; send the feedback again later", retry_after=5)
    items = parse_feedback(_json_body(), current_app.config["NERVE_CDS_SETTINGS"].feedback_max_items)
    client = _client()
    # Every item is checked before any is stored: one foreign card refuses the whole request.
    foreign = [n for n, item in enumerate(items) if not _card_ids().issued(item.card, service_id, client)]
    if foreign:
        g.log_fields["feedbackRefused"] = len(foreign)
        places = ", ".join(f"feedback.{n}.card" for n in foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
        raise UnknownReference(f"{places}: not a card this service issued to this client; nothing was stored")
    try:
        stored = current_app.extensions["nerve_cds.feedback"].save(service_id, client, items)
    except Unstorable as exc:
        raise BadRequest(str(exc)) from None
    except StoreUnavailable:  # feedback is idempotent, so the client can simply send it again
        raise ServiceUnavailable("feedback store unavailable; send the feedback again later") from None
    except StoreRefused as exc:
        g.log_fields["feedbackStored"] = exc.stored
        raise ServerError(f"{exc}; the other items are stored") from None
    g.log_fields["feedbackItems"] = len(items)
    g.log_fields["feedbackStored"] = stored
    return ("", 200)


@bp.get("/healthz")
def healthz() -> Any:
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz() -> Any:
    """Ready when a hook call can be answered: the card library is loaded and, with authentication
    on, the shared JWT replay store can be reached. Whether feedback can be written is said in the
    body and in the metrics but never takes the replica out: a full feedback disk must not stop
    cauda equina alerts."""
    storage = current_app.extensions["nerve_cds.storage"]
    checks = {"cardLibrary": bool(_library().services)}
    if current_app.config["NERVE_CDS_SETTINGS"].authenticate:
        checks["replayStore"] = storage.ready()
    health = storage.feedback.write_health()
    metrics.metrics().store_writable.set(1 if health.writable else 0)
    status = 200 if all(checks.values()) else 503
    return jsonify({"status": "ready" if status == 200 else "not-ready", "checks": checks,
                    "feedbackStore": {"writable": health.writable, "error": health.error}}), status

