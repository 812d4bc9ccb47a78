"""The `nerve-cds` command: run the service, check the card library, load fixtures, act as an EHR."""
from __future__ import annotations

import gc
import os
import sys
from pathlib import Path
from typing import Any

import click

from .fixtures_cli import fixtures
from .invoke import invoke
from .settings import Settings


@click.group()
def main() -> None:
    """nerve-cds: CDS Hooks service for radiculopathy, cauda equina red flags and twitching."""


@main.command()
@click.option("--host", default="0.0.0.0", show_default=True, help="Interface to bind.")
@click.option("--port", default=8080, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int, help="gunicorn worker processes.")
@click.option("--threads", default=4, show_default=True, type=int, help="Threads per worker.")
@click.option("--dev", is_flag=True, help="Dev mode: authentication off, loopback http FHIR servers allowed.")
def serve(host: str, port: int, workers: int, threads: int, dev: bool) -> None:
    """Run the service under gunicorn."""
    from gunicorn.app.base import BaseApplication

    overrides: dict[str, Any] = {}
    if dev:
        overrides = {"dev": True, "auth_enabled": os.environ.get("NERVE_CDS_AUTH_ENABLED", "0") == "1"}
    settings = Settings.from_env(**overrides)
    from .app import create_app

    app = create_app(settings)  # load and check the library once, before forking workers
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
            self.cfg.set("threads", threads)
            self.cfg.set("worker_class", "gthread" if threads > 1 else "sync")
            self.cfg.set("accesslog", None)
            self.cfg.set("timeout", 30)

        def load(self) -> Any:
            return app

    Server().run()


main.add_command(fixtures)
main.add_command(invoke)


@main.group()
def db() -> None:
    """The feedback database's schema (also brought up to date when the service starts)."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply every migration not yet applied to NERVE_CDS_DATABASE_URL (ahead of a deploy)."""
    from .store_sql import SqlDatabase

    database = SqlDatabase(Settings.from_env().database_url)
    try:
        revision = database.upgrade()
    except Exception as exc:  # the URL can hold a password: name the failure, never the URL
        click.secho(f"FAILED: {exc.__class__.__name__}", fg="red", err=True)
        sys.exit(1)
    finally:
        database.engine.dispose()
    click.echo(f"OK: schema at revision {revision}")


@main.group()
def cards() -> None:
    """Check and compare card libraries."""


@cards.command("validate")
@click.argument("cards_dir", required=False, type=click.Path(exists=True, file_okay=False, path_type=Path))
def cards_validate(cards_dir: Path | None) -> None:
    """Load a card library and report the first problem with its file and place."""
    from .library import LibraryError, load_library

    directory = cards_dir or Settings.from_env().cards_dir
    try:
        library = load_library(directory)
    except LibraryError as exc:
        click.secho(f"INVALID: {exc}", fg="red", err=True)
        sys.exit(1)
    click.echo(
        f"OK: {directory}: {len(library.services)} services, {len(library.rules)} rules, "
        f"{len(library.findings.findings)} findings, {len(library.terminology.valuesets)} value sets"
    )



@cards.command("diff")
@click.option("--cards-dir", "changed", required=True, type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="The changed card library.")
@click.option("--against", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="The library to compare with (default: the shipped one).")
def cards_diff(changed: Path, against: Path | None) -> None:
    """List the scenarios in fixtures/ whose cards change with a modified card library."""
    from datetime import date

    from .compare import compare
    from .library import LibraryError, load_library

    settings = Settings.from_env()
    try:
        before, after = load_library(against or settings.cards_dir), load_library(changed)
    except LibraryError as exc:
        click.secho(f"INVALID: {exc}", fg="red", err=True)
        sys.exit(1)
    differences = compare(before, after, settings.fixtures_dir, date.today())
    if not differences:
        click.echo("No scenario's cards change.")
        return
    for diff in differences:
        click.secho(diff.scenario, bold=True)
        for card in sorted(set(diff.before) - set(diff.after)):
            click.secho(f"  - {card[1]:8} {card[0]}: {card[2]}", fg="red")
        for card in sorted(set(diff.after) - set(diff.before)):
            click.secho(f"  + {card[1]:8} {card[0]}: {card[2]}", fg="green")
    click.echo(f"{len(differences)} scenario(s) change.")

