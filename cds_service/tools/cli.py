"""The `nerve-cds` command: run the service, check the card library, load fixtures, act as an EHR."""
from __future__ import annotations

import errno
import gc
import json
import logging
import os
import socket
import sys
from pathlib import Path
from typing import Any

import click

from ..core.config import ConfigError
from ..core.settings import Settings, not_a_card_library
from .analyst import cards_diff, cards_where, explain, feedback, workbench
from .fixtures import fixtures
from .frequency import cards_frequency
from .invoke import invoke
from .prefetch_templates import cards_prefetch
from .shadow import shadow

GC_YOUNG_THRESHOLD = 100_000  # objects allocated between young-generation collections in a worker


class _Commands(click.Group):
    """Operator mistakes (a bad setting, trust file or card library) end in one line and exit 2."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ConfigError as exc:
            click.secho(f"nerve-cds: {exc}", fg="red", err=True)
            sys.exit(2)


@click.group(cls=_Commands)
@click.version_option(package_name="nerve-cds", prog_name="nerve-cds")
def main() -> None:
    """nerve-cds: CDS Hooks service for radiculopathy, cauda equina red flags and twitching."""


@main.command()
@click.option("--host", help="Interface to bind [default: 127.0.0.1 with --dev, else 0.0.0.0].")
@click.option("--port", default=8080, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int, help="gunicorn worker processes.")
@click.option("--connections", default=1000, show_default=True, type=click.IntRange(1),
              help="Open connections per worker; slow ones wait without holding up the rest.")
@click.option("--dev", is_flag=True, help="Dev mode: authentication off, loopback http FHIR servers allowed.")
def serve(host: str | None, port: int, workers: int, connections: int, dev: bool) -> None:
    """Run the service under gunicorn, with gevent workers: a client that trickles its request
    holds a cheap greenlet, not one of a handful of threads, so slow or stalled clients cannot
    starve the EHRs that are waiting for cards."""
    from gunicorn.app.base import BaseApplication

    host = host or ("127.0.0.1" if dev else "0.0.0.0")

    overrides: dict[str, Any] = {}
    if dev:  # authentication off unless NERVE_CDS_AUTH_ENABLED says otherwise, read like every setting
        overrides = {"dev": True} if "NERVE_CDS_AUTH_ENABLED" in os.environ else {"dev": True, "auth_enabled": False}
    settings = Settings.from_env(**overrides)
    from ..web import serving
    from ..web.app import create_app
    from ..web.gunicorn_logs import RedactingLogger

    _check_port_free(host, port)
    metrics_dir = serving.share_metrics()  # before anything imports prometheus_client
    # psycopg picks how it waits for PostgreSQL when first imported, here in the master before
    # gevent: its C wait would block a whole worker. poll() is what gevent patches in the workers.
    os.environ.setdefault("PSYCOPG_WAIT_FUNC", "wait_poll")
    # Everything is checked once here, before the workers fork (a bad trust file or database URL
    # is one line and exit 2), and the card library is loaded once and shared with them.
    checked = create_app(settings)
    library = checked.extensions["nerve_cds.library"]
    shadow = checked.extensions.get("nerve_cds.shadow")
    candidate = shadow.candidate if shadow is not None else None
    # Everything loaded so far lives as long as the process: keep it out of every garbage
    # collection in the workers (and their pages shared after fork).
    gc.collect()
    gc.freeze()
    if settings.dev:
        click.secho("DEV MODE: authentication is %s; never use with real patient data." %
                    ("ON" if settings.authenticate else "OFF"), fg="red", bold=True, err=True)

    class Server(BaseApplication):
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("worker_class", "gevent")
            self.cfg.set("worker_connections", connections)
            self.cfg.set("accesslog", None)
            self.cfg.set("timeout", 30)
            # After SIGTERM: calls in flight end within their deadline, then queued rows are
            # written (bounded), well before the master's kill.
            self.cfg.set("graceful_timeout", serving.graceful_seconds(settings))
            # gunicorn's control socket defaults to one fixed path per user, shared by every
            # instance on the machine; the service is managed by signals, so it has none.
            self.cfg.set("control_socket_disable", True)
            self.cfg.set("post_worker_init", serving.watch_for_stop)
            self.cfg.set("worker_exit", _end_worker)
            self.cfg.set("child_exit", serving.worker_gone)
            # gunicorn logs an unparsable request as it came (a header line with a JWT in it,
            # a request line with its query string): its loggers redact those.
            self.cfg.set("logger_class", RedactingLogger)
            # By default gunicorn lets any loopback peer set SCRIPT_NAME by a request header:
            # one that does not prefix the path is a 500, one that does re-roots every path.
            # Nothing in front of this service sets it, so no client may.
            self.cfg.set("forwarder_headers", "")

        def load(self) -> Any:
            # Runs in each worker, after gevent has patched it: every lock, thread, queue and
            # database pool of the app is the worker's own and cooperative (one made in the
            # master and held across a greenlet switch froze whole workers).
            app = create_app(settings, library=library, candidate=candidate)
            # the worker's own app lives as long as the worker: out of its collections too
            gc.collect()
            gc.freeze()
            # A hook call's parsed body is tens of thousands of dicts and lists, freed by reference
            # counting when the call ends; collecting every 700 new ones meant dozens of needless
            # passes per call (a sixth of a 500-resource call's CPU, docs/operations.md#performance).
            gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])
            return app

    try:
        Server().run()
    finally:
        serving.remove_metrics(metrics_dir)


def _end_worker(arbiter: Any, worker: Any) -> None:
    """gunicorn's worker_exit hook: a worker that is exiting writes what it still has queued
    (bounded), flushes its logs and ends without the interpreter's teardown. That teardown clears
    modules in reverse import order, so gevent's (imported by the worker) go before flask's and
    charset_normalizer's, whose module-level log handlers are then freed and call back into
    logging's lock, which gevent patched: an 'Exception ignored ... gevent/thread.py ...
    TypeError' traceback on every stop."""
    from ..web import serving

    stopping = sys.exc_info()[1]  # the worker's sys.exit(code), on its way out
    if worker.pid != os.getpid() or not isinstance(stopping, SystemExit):
        return  # gunicorn also calls this hook in the master for a worker that vanished
    if hasattr(worker, "wsgi"):  # a worker that failed to build its app has nothing to drain
        serving.drain(worker.wsgi)
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(stopping.code if isinstance(stopping.code, int) else 1)


def _check_port_free(host: str, port: int) -> None:
    """gunicorn would retry a taken port for seconds and then log several lines; say it once."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            reason = "is in use" if exc.errno == errno.EADDRINUSE else f"cannot be bound ({exc.strerror})"
            click.secho(f"nerve-cds: {host}:{port} {reason}; choose another with --port", fg="red", err=True)
            sys.exit(2)


main.add_command(fixtures)
main.add_command(invoke)
main.add_command(explain)
main.add_command(feedback)
main.add_command(workbench)
main.add_command(shadow)


@main.group()
def db() -> None:
    """The feedback database's schema (also brought up to date when the service starts)."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply every migration not yet applied to NERVE_CDS_DATABASE_URL (ahead of a deploy)."""
    from ..storage import open_storage

    try:
        revision = open_storage(Settings.from_env().database_url).upgrade()
    except ConfigError:  # a bad setting or URL: one line naming it (main's handler)
        raise
    except Exception as exc:  # the URL can hold a password: name the failure, never the URL
        click.secho(f"FAILED: {exc.__class__.__name__}", fg="red", err=True)
        sys.exit(1)
    click.echo(f"OK: schema at revision {revision}")


@main.group()
def cards() -> None:
    """Check and compare card libraries."""


@cards.command("validate")
@click.argument("cards_dir", required=False, type=click.Path(exists=True, file_okay=False, path_type=Path))
def cards_validate(cards_dir: Path | None) -> None:
    """Load a card library and report every problem, one line each: `<file>:<line>: <place>:
    <problem>` (exit 1 when there is one)."""
    from ..library.lines import with_lines
    from ..library.loader import LibraryError, load_library

    settings = Settings.from_env()
    directory = cards_dir or settings.cards_dir
    not_a_library = not_a_card_library(directory)
    if not_a_library:
        click.secho(f"INVALID: {not_a_library}", fg="red", err=True)
        sys.exit(1)
    try:
        library = load_library(directory, settings.canonical_base, settings.site_dir if cards_dir is None else None)
    except LibraryError as exc:
        for line in with_lines(exc.problems, directory):
            click.secho(line, fg="red", err=True)
        click.secho(f"INVALID: {len(exc.problems)} problem(s) in {directory}", fg="red", bold=True, err=True)
        sys.exit(1)
    click.echo(
        f"OK: {library.path}: {len(library.services)} services, {len(library.rules)} rules, "
        f"{len(library.findings.findings)} findings, {len(library.terminology.valuesets)} value sets; "
        f"version {library.version}"
    )
    for line in library.site.lines() if library.site else ():
        click.echo(f"site layer: {line}")


@cards.command("coverage")
@click.argument("cards_dir", required=False, type=click.Path(exists=True, file_okay=False, path_type=Path))
def cards_coverage(cards_dir: Path | None) -> None:
    """Print the SNOMED GPS coverage ledger: per topic, concepts matched, in a value set, excluded, missing."""
    from ..library.coverage import build_ledger
    from ..library.loader import LibraryError

    try:
        ledger = build_ledger(cards_dir or Settings.from_env().cards_dir)
    except LibraryError as exc:
        click.secho(f"INVALID: {exc}", fg="red", err=True)
        sys.exit(1)
    click.echo(f"{'topic':24} {'matched':>8} {'in value set':>13} {'excluded':>9} {'missing':>8}")
    for t in ledger.topics:
        click.echo(f"{t.topic:24} {len(t.matched):8} {len(t.in_valuesets):13} {len(t.excluded):9} {len(t.missing):8}")
    click.echo(f"{'all topics (distinct)':24} {len(ledger.matched):8} {len(ledger.in_valuesets):13} "
               f"{len(ledger.excluded):9} {len(ledger.missing):8}")
    for code in sorted(ledger.missing, key=lambda c: ledger.terms.get(c, "")):
        click.secho(f"MISSING {code} {ledger.terms[code]}", fg="red")
    for problem in ledger.problems:
        click.secho(f"PROBLEM {problem}", fg="red")
    if not ledger.complete:
        sys.exit(1)


@cards.command("uncovered")
@click.option("--limit", default=200, show_default=True, help="How many codes to list, most seen first.")
@click.option("--json", "as_json", is_flag=True, help="As JSON (for a spreadsheet or a ticket).")
def cards_uncovered(limit: int, as_json: bool) -> None:
    """Codes seen in hook calls that no value set holds, with their display and how many calls
    carried them (from NERVE_CDS_DATABASE_URL): what to map next. Codes only, never patients."""
    from ..storage import open_storage
    from ..storage.interface import StoreUnavailable

    try:
        rows = open_storage(Settings.from_env().database_url).uncovered.counts(limit)
    except StoreUnavailable as exc:
        click.secho(f"FAILED: the store is unavailable ({exc})", fg="red", err=True)
        sys.exit(1)
    if as_json:
        click.echo(json.dumps([{"system": s, "code": c, "display": d, "calls": n} for s, c, d, n in rows], indent=2))
        return
    click.echo(f"{'calls':>7}  system | code | display")
    for system, code, display, seen in rows:
        click.echo(f"{seen:7}  {system} | {code} | {display}")


@cards.command("index")
@click.argument("cards_dir", required=False, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--write", is_flag=True, help="Rewrite the table in cards/valuesets/README.md instead of printing it.")
def cards_index(cards_dir: Path | None, write: bool) -> None:
    """The value-set index (id, meaning, codes per system) made from the value sets themselves."""
    from ..library.valueset_index import index_rows, refreshed

    directory = (cards_dir or Settings.from_env().cards_dir) / "valuesets"
    if not write:
        click.echo("\n".join(index_rows(directory)))
        return
    readme = directory / "README.md"
    readme.write_text(refreshed(readme.read_text(encoding="utf-8"), directory), encoding="utf-8")
    click.echo(f"wrote {readme}")


cards.add_command(cards_diff)
cards.add_command(cards_where)
cards.add_command(cards_prefetch)
cards.add_command(cards_frequency)
