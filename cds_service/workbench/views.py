"""The workbench pages under /workbench: explain a patient's cards, preview a library change,
read clinicians' feedback. Server-rendered HTML (Jinja templates in this package), no script
needed; registered only when NERVE_CDS_WORKBENCH_ENABLED is set, behind access.py, every form
that posts guarded by csrf.py."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Flask, Response, abort, current_app, render_template, request
from itsdangerous import URLSafeTimedSerializer

from ..core.settings import Settings
from ..core.windows import WindowError, weeks_window
from ..data.scenarios import list_scenarios
from ..hooks.registry import HOOKS
from ..library import lookup
from ..library.loader import Library, LibraryError, load_library
from ..storage.analytics import Report
from ..storage.interface import StoreUnavailable
from ..storage.shadow import CHANGE_WORDS, by_call
from . import charts, csrf
from .access import refuse_unless_allowed, viewer
from .cases import (
    CaseError,
    Run,
    fhir_case,
    fixture_case,
    fixture_cases,
    folder_cases,
    noon,
    parse_request_case,
    run_case,
    service_for,
)
from .folders import FolderRefused, allowed_folder
from .live import LiveLibrary
from .markdown import to_html
from .preview import VERDICTS, preview
from .words import CardWords

bp = Blueprint("workbench", __name__, url_prefix="/workbench", template_folder="templates")


def install_workbench(app: Flask, settings: Settings) -> None:
    """Register the pages; in dev mode the workbench's library follows edits under cards/."""
    app.extensions["nerve_cds.workbench"] = LiveLibrary(app.extensions["nerve_cds.library"], reload=settings.dev)
    app.extensions["nerve_cds.workbench_csrf"] = csrf.signer(settings)
    app.register_blueprint(bp)


@bp.before_request
def _guard() -> Any:
    return refuse_unless_allowed(_settings()) or csrf.refuse_forged(_settings(), _csrf())


@bp.after_request
def _no_store(response: Any) -> Any:
    csrf.set_cookie(response)
    response.headers["Cache-Control"] = "no-store"  # patient data: never cached by the browser
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'unsafe-inline'"
    return response


def _settings() -> Settings:
    return current_app.config["NERVE_CDS_SETTINGS"]


def _now() -> datetime:
    return current_app.config["NERVE_CDS_CLOCK"]()


def _csrf() -> URLSafeTimedSerializer:
    return current_app.extensions["nerve_cds.workbench_csrf"]


def _library() -> tuple[Library | None, str | None]:
    return current_app.extensions["nerve_cds.workbench"].current()


def _page(template: str, status: int = 200, **values: Any) -> tuple[str, int]:
    library, error = _library()
    settings = _settings()
    return render_template(f"workbench/{template}", library_error=error, library_path=library.path if library else None,
                           dev=settings.dev, md=to_html, csrf_token=lambda: csrf.token(_csrf()), **values), status


@bp.get("/")
def index() -> Any:
    return _page("index.html", scenarios=list_scenarios(_settings().fixtures_dir), hooks=list(HOOKS))


@bp.route("/explain", methods=["GET", "POST"])
@bp.get("/explain/<scenario_id>")
def explain(scenario_id: str | None = None) -> Any:
    library, _ = _library()
    if library is None:
        return _page("explain.html", status=409, run=None, problem=None)  # the page's banner shows the error
    now = _now()
    try:
        if scenario_id:
            case = fixture_case(_settings().fixtures_dir, scenario_id, now.date())
            now = noon(now.date())
        elif request.method == "POST":
            case = parse_request_case(request.form.get("request", ""), "pasted request")
        elif request.args.get("patient") and request.args.get("fhir_server"):
            case = fhir_case(library, _settings(), request.args["fhir_server"], request.args["patient"],
                             request.args.get("hook") or None, request.args.get("drafts", ""))
        else:
            raise CaseError("choose a scenario, paste a request, or give a FHIR server and a patient id")
        service = service_for(library, case.hook).id
        run = run_case(library, case, now)
    except CaseError as exc:
        return _page("explain.html", status=404 if scenario_id else 400, run=None, problem=str(exc))
    only = set(request.args.getlist("rule"))
    return _page("explain.html", run=run, rows=_rows(run, only), service=service, topics=library.presentation.topics,
                 only=sorted(only), unfiltered=urlencode([(k, v) for k, v in request.args.items(multi=True) if k != "rule"]))


def _rows(run: Run, only: set[str]) -> list[tuple[dict[str, Any] | None, dict[str, Any]]]:
    """(card, rule explanation) pairs in rule order: fired rules beside their card; of the rules
    in `only` when it names any."""
    cards = {c["uuid"]: c for c in run.cards}
    return [(cards.get(rule.get("card", "")), rule) for rule in run.report["rules"] if not only or rule["rule"] in only]


@bp.get("/diff")
def diff() -> Any:
    library, _ = _library()
    candidate_dir = request.args.get("candidate", "").strip()
    requests_dir = request.args.get("requests", "").strip()
    values: dict[str, Any] = {"candidate": candidate_dir, "requests": requests_dir, "result": None, "problem": None}
    if library is None:
        return _page("diff.html", status=409, **values)
    if not candidate_dir:
        return _page("diff.html", **values)
    now = _now()
    roots = _settings().workbench_libraries
    try:
        candidate_folder = allowed_folder(candidate_dir, roots, "candidate card library")
        requests_folder = allowed_folder(requests_dir, roots, "request files folder") if requests_dir else None
    except FolderRefused as exc:
        values["problem"] = str(exc)
        return _page("diff.html", status=403, **values)
    try:
        candidate = load_library(candidate_folder, library.canonical_base)
        cases = folder_cases(requests_folder) if requests_folder else fixture_cases(_settings().fixtures_dir, now.date())
        values["result"] = preview(library, candidate, cases, now if requests_folder else noon(now.date()))
        values["exit_status"] = VERDICTS[values["result"].verdict]
    except (CaseError, LibraryError) as exc:
        values["problem"] = str(exc)
        return _page("diff.html", status=400, **values)
    return _page("diff.html", **values)


@bp.get("/where")
def where() -> Any:
    """Reverse look-up: a code -> the value sets holding it and what uses them; a setting -> its rules."""
    library, _ = _library()
    query = request.args.get("q", "").strip()
    answer = lookup.where(library, query) if library and query else None
    return _page("where.html", status=404 if answer and not answer.found else 200, query=query, answer=answer)


@bp.get("/feedback")
def feedback() -> Any:
    report, weeks = _report()
    library, _ = _library()
    versions = current_app.extensions["nerve_cds.storage"].versions(_now() - timedelta(weeks=weeks),
                                                                    request.args.get("client") or None,
                                                                    CardWords(library) if library else None)
    totals = {kind: [sum(getattr(per.get(w), kind, 0) for per in report.weekly.values() if w in per) for w in report.weeks]
              for kind in ("issued", "accepted", "overridden")}
    return _page(
        "feedback.html", report=report, weeks=weeks, versions=versions,
        csv_query=urlencode({k: v for k, v in request.args.items() if v}),
        outcome_chart=charts.outcome_bars([(t.topic, t.issued, t.accepted, t.overridden, t.no_channel) for t in report.topics]),
        weekly_chart=charts.weekly_bars(report.weeks, totals) if report.weeks else None,
    )


@bp.get("/shadow")
def shadow() -> Any:
    """The candidate library's differences per day and topic; with ?day=&topic=, the hook calls
    behind one row, each with everything that changed in it and its patient and encounter ids,
    each difference shown recorded in the audit."""
    load = current_app.extensions.get("nerve_cds.load")
    if load is not None and load.busy():
        return "Busy with hook calls; try again in a few seconds.", 503, {"Retry-After": "5", "Content-Type": "text/plain"}
    store = current_app.extensions["nerve_cds.storage"].shadow
    running = current_app.extensions.get("nerve_cds.shadow")
    retention = _settings().shadow_retention_days
    topic, day_text = request.args.get("topic", "").strip(), request.args.get("day", "").strip()
    day = None
    if topic or day_text:
        try:
            day = date.fromisoformat(day_text)
        except ValueError:
            day = None
        if day is None or not topic or not topic.isprintable() or len(topic) > 64:
            return _page("problem.html", status=400, heading="Shadow mode",
                         problem="give a day like 2026-12-05 and a card topic, as the table's links do")
    try:
        calls = store.reveal(day, topic, viewer(), _now()) if day is not None else None
        rows = store.day_topics(_now() - timedelta(days=retention))
    except StoreUnavailable:
        return _page("problem.html", status=503, heading="Shadow mode", problem="the feedback database is unavailable; try again")
    return _page("shadow.html", rows=rows, calls=by_call(calls) if calls is not None else None, changes=CHANGE_WORDS,
                 day=day_text, topic=topic, retention=retention,
                 live=running.live.version if running else None, candidate=running.candidate if running else None)


@bp.get("/feedback.csv")
def feedback_csv() -> Any:
    report, weeks = _report()
    return report.as_csv(), 200, {"Content-Type": "text/csv; charset=utf-8",
                                   "Content-Disposition": f'attachment; filename="nerve-cds-feedback-{weeks}w.csv"'}


def _report() -> tuple[Report, int]:
    """The report the page's query asks for, in the library's words; aborts when it cannot be had now."""
    load = current_app.extensions.get("nerve_cds.load")
    if load is not None and load.busy():  # analytics give way to the hook calls beside them
        abort(Response("Busy with hook calls; try again in a few seconds.", 503,
                       {"Retry-After": "5", "Content-Type": "text/plain"}))
    try:
        weeks = weeks_window(request.args.get("weeks"))
    except WindowError as exc:
        page, status = _page("problem.html", status=400, heading="What clinicians do with the cards", problem=str(exc))
        abort(Response(page, status, {"Content-Type": "text/html; charset=utf-8"}))
    library, _ = _library()
    vocabulary = CardWords(library) if library else None
    report = current_app.extensions["nerve_cds.storage"].report(_now() - timedelta(weeks=weeks),
                                                                request.args.get("client") or None, vocabulary)
    return report, weeks
