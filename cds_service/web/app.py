"""The application factory: settings, card library and storage are set up once here."""
from __future__ import annotations

import logging
import time
import traceback
from typing import Any

from flask import Flask, Response, g, jsonify, request
from werkzeug.exceptions import HTTPException

from ..core.cardids import CardIds
from ..core.errors import HttpError, ServiceUnavailable, operation_outcome
from ..core.settings import Settings, SettingsError
from ..library.loader import Library, load_library
from ..storage import open_storage
from ..storage.interface import Background
from ..workbench.views import install_workbench
from . import auth, cors, logs, metrics
from .api import bp, utcnow
from .jsonout import JsonProvider
from .load import Load
from .shadow import Shadow, load_candidate

log = logging.getLogger("nerve_cds.app")

DEV_WARNING = (
    "DEV MODE: client authentication may be off and plain-http loopback FHIR servers are "
    "allowed. Never expose this process to real patient data."
)


def create_app(settings: Settings | None = None, clock: Any = None, library: Library | None = None,
               candidate: Library | None = None) -> Flask:
    """A ready Flask app; every setting also comes from NERVE_CDS_* environment variables.

    `library` is loaded from settings.cards_dir (with settings.canonical_base) when absent. Tests
    and embedders that make many apps pass one library they have already loaded and checked, which
    must come from those same settings: loading it is the slowest part of making an app.
    `candidate` likewise for the shadow library (settings.shadow_cards_dir), loaded when absent.
    SettingsError when the settings cannot serve clients safely (Settings.serving_problems)."""
    settings = settings or Settings.from_env()
    problem = settings.serving_problems()
    if problem:
        raise SettingsError(problem)
    logs.configure(settings.log_level)
    app = Flask(__name__)
    app.config["NERVE_CDS_SETTINGS"] = settings
    app.config["NERVE_CDS_CLOCK"] = clock or utcnow
    # One byte over the limit: a chunked body without Content-Length is cut there by werkzeug, so
    # the size check in the API sees it is too long (413) instead of parsing a truncated body (400).
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes + 1
    app.json = JsonProvider(app)
    if library is None:
        library = load_library(settings.cards_dir, settings.canonical_base, settings.site_dir)
    app.extensions["nerve_cds.library"] = library
    app.extensions["nerve_cds.card_ids"] = CardIds(settings.card_key)
    load = Load()
    app.extensions["nerve_cds.load"] = load
    # One database, one engine: feedback, cards, jti. Its background writes give way to hook calls.
    storage = open_storage(settings.database_url, Background(pace=load.pace, observe=metrics.observe_store))
    app.extensions["nerve_cds.storage"] = storage
    app.extensions["nerve_cds.feedback"] = storage.feedback
    candidate = candidate or load_candidate(settings)
    if candidate is not None:  # shadow mode: the candidate answers too, after the live answer, for the analyst
        app.extensions["nerve_cds.shadow"] = Shadow(library, candidate, storage.shadow, load,
                                                    settings.shadow_retention_days)

    _install_request_log(app)  # first, so the latency of a refused call is measured too
    _install_connection_close(app)
    _install_security(app, settings)  # reads the trust file: a bad one stops start-up before any warning
    if settings.dev:
        log.warning(DEV_WARNING)
    app.register_blueprint(bp)
    metrics.install(app, settings)
    if settings.workbench_enabled:
        install_workbench(app, settings)
    _install_error_handlers(app)
    return app


def _install_security(app: Flask, settings: Settings) -> None:
    """CORS first (preflight needs no token), then client authentication."""
    cors.init_app(app, settings)
    auth.init_app(app, settings)


def _install_error_handlers(app: Flask) -> None:
    @app.errorhandler(HttpError)
    def _http_error(exc: HttpError) -> tuple[Response, int]:
        g.log_fields = {**getattr(g, "log_fields", {}), "error": exc.issue_code}
        response, status = _outcome(exc.outcome(), exc.status)
        if isinstance(exc, ServiceUnavailable) and exc.retry_after is not None:
            response.headers["Retry-After"] = str(exc.retry_after)
        return response, status

    @app.errorhandler(HTTPException)
    def _werkzeug_error(exc: HTTPException) -> tuple[Response, int]:
        status = exc.code or 500
        code = {404: "not-found", 405: "not-supported", 413: "too-long", 415: "not-supported"}
        return _outcome(operation_outcome(exc.description or exc.name, code.get(status, "invalid")), status)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> tuple[Response, int]:
        # The exception's text can quote request data: log its type and where it happened only.
        where = [f"{f.filename.rsplit('/', 1)[-1]}:{f.lineno} {f.name}" for f in traceback.extract_tb(exc.__traceback__)]
        log.error("unexpected error", extra={"fields": {"error": exc.__class__.__name__, "where": where[-4:]}})
        return _outcome(operation_outcome("internal error in the CDS service"), 500)


def _outcome(body: dict, status: int) -> tuple[Response, int]:
    response = jsonify(body)
    response.mimetype = "application/fhir+json"
    return response, status


def _install_request_log(app: Flask) -> None:
    @app.before_request
    def _start() -> None:
        g.started = time.perf_counter()
        # The call's whole time budget starts now: authentication counts against it too.
        g.deadline = time.monotonic() + app.config["NERVE_CDS_SETTINGS"].call_deadline

    @app.after_request
    def _line(response: Response) -> Response:
        if request.endpoint == "cds.call_service":
            metrics.count_call(app.extensions["nerve_cds.library"], (request.view_args or {}).get("service_id"),
                               response.status_code, time.perf_counter() - g.get("started", time.perf_counter()))
        if request.path.startswith("/cds-services"):
            fields = dict(getattr(g, "log_fields", {}))
            fields.update(
                method=request.method,
                path=request.path,
                status=response.status_code,
                latencyMs=round((time.perf_counter() - g.get("started", time.perf_counter())) * 1000, 2),
            )
            if app.config["NERVE_CDS_SETTINGS"].dev and not app.config["NERVE_CDS_SETTINGS"].authenticate:
                fields["warning"] = "dev mode: caller not authenticated"
            logs.request_line(**fields)
        return response


def _install_connection_close(app: Flask) -> None:
    """A reply sent before the request body was read (413, 415, 401 ...) ends the connection: the
    unread rest of the body cannot be told apart from a next request, so the client is told."""

    @app.after_request
    def _close(response: Response) -> Response:
        chunked = "chunked" in request.headers.get("Transfer-Encoding", "").lower()
        unread = (request.content_length or chunked) and not g.get("body_read")
        if response.status_code == 413 or unread:
            response.headers["Connection"] = "close"
        return response
