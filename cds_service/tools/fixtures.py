"""`nerve-cds fixtures`: list the scenario fixtures and load them into any FHIR R4 server."""
from __future__ import annotations

import json
import re
import shutil
import sys
import textwrap
from datetime import date, datetime
from typing import Any

import click
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from ..core.settings import Settings
from ..core.urls import HttpUrl, UrlError, parse_base_url
from ..data.fhir import FetchError, FhirClient, Reply
from ..data.scenarios import list_scenarios, load_scenario

LOAD_SECONDS = 60.0  # one scenario's transaction: a big one on a slow server takes a while
FHIR_ID_CHARS = re.compile(r"^[A-Za-z0-9\-.]*$")
MAX_ID = 64


@click.group()
def fixtures() -> None:
    """Patient scenarios from fixtures/fhir: list them, load them into a FHIR server."""


@fixtures.command("list")
@click.option("--plain", is_flag=True,
              help="One tab-separated line per scenario: id, hook, title, expected cards, cards that must not fire.")
@click.option("--json", "as_json", is_flag=True, help="Every scenario with its signed-off expectations, as JSON.")
def list_command(plain: bool, as_json: bool) -> None:
    """Scenario ids, what they show, and the cards they must produce (and must not)."""
    settings = Settings.from_env()
    scenarios = [load_scenario(settings.fixtures_dir, sid, date.today()) for sid in list_scenarios(settings.fixtures_dir)]
    if as_json:
        click.echo(json.dumps([{"id": s.id, "hook": s.request["hook"], "title": s.expected["title"],
                                "clinical": s.expected.get("clinical"), "fire": s.expected.get("fire") or [],
                                "must_not_fire": s.expected.get("must_not_fire") or []} for s in scenarios], indent=2))
        return
    rows = [(s.id, s.request["hook"], s.expected["title"],
             ", ".join(f"{f['topic']} ({f['indicator']})" for f in s.expected.get("fire") or []) or "none",
             ", ".join(s.expected.get("must_not_fire") or []))
            for s in scenarios]
    if plain:
        for row in rows:
            click.echo("\t".join(row))
        return
    # Ids are what the other commands take: each on a line of its own, never cut; the rest wraps.
    width = max(40, shutil.get_terminal_size((80, 24)).columns - 1)
    for sid, hook, title, cards, unwanted in rows:
        click.secho(sid, bold=True, nl=False)
        click.echo(f"  {hook}")
        click.echo(textwrap.fill(title, width, initial_indent="    ", subsequent_indent="    "))
        click.echo(textwrap.fill(f"expects: {cards}", width, initial_indent="    ", subsequent_indent="      "))
        if unwanted:
            click.echo(textwrap.fill(f"must not fire: {unwanted}", width, initial_indent="    ", subsequent_indent="      "))
    click.echo(f"{len(rows)} scenarios in {settings.fixtures_dir / 'fhir'}")


def _outcome_text(reply: Reply) -> str:
    issues = reply.body.get("issue") if reply.body else None
    text = "; ".join(str(i.get("diagnostics", i.get("code", ""))) for i in issues if isinstance(i, dict)) \
        if isinstance(issues, list) else ""
    return text or reply.reason or f"HTTP {reply.status}"


def _transaction_reply(reply: Reply) -> dict[str, Any] | None:
    """The transaction-response Bundle, or None when the server answered something else (not FHIR)."""
    return reply.body if reply.body and reply.body.get("resourceType") == "Bundle" else None


def _server(fhir_server: str) -> HttpUrl:
    try:
        return parse_base_url(fhir_server)
    except UrlError as exc:
        raise click.BadParameter(f"refused: {exc}", param_hint="--fhir-server") from None


def _check_ids(scenarios: list[Any], prefix: str) -> None:
    """Refuse a prefix that makes an invalid FHIR id before anything is sent (a server would refuse it mid-load)."""
    if not FHIR_ID_CHARS.fullmatch(prefix):
        raise click.BadParameter(f"{prefix!r}: use only letters, digits, '-' and '.' (FHIR id characters)",
                                 param_hint="--prefix")
    longest = max((e["resource"]["id"] for s in scenarios for e in s.bundle["entry"]), key=len)
    if len(longest) > MAX_ID:
        room = MAX_ID - (len(longest) - len(prefix))
        raise click.BadParameter(f"{prefix!r} makes the id {longest!r} {len(longest)} characters long; FHIR ids "
                                 f"are at most {MAX_ID}: use a prefix of at most {room} characters",
                                 param_hint="--prefix")


def _count(reply: dict[str, Any]) -> tuple[int, int]:
    created = updated = 0
    for entry in reply.get("entry", []):
        status = str(entry.get("response", {}).get("status", ""))
        created += status.startswith("201")
        updated += status.startswith("200")
    return created, updated


@fixtures.command("load")
@click.option("--fhir-server", required=True, help="FHIR R4 base URL, e.g. http://127.0.0.1:8090/fhir")
@click.argument("scenario_ids", nargs=-1)
@click.option("--prefix", default="", help="Prefix every id, to keep several people's loads apart on a shared server.")
@click.option("--today", type=click.DateTime(formats=["%Y-%m-%d"]), help="Anchor relative dates to this day.")
def load(fhir_server: str, scenario_ids: tuple[str, ...], prefix: str, today: datetime | None) -> None:
    """Load scenarios (default: all) as transactions, dates made concrete for today."""
    settings = Settings.from_env()
    known = list_scenarios(settings.fixtures_dir)
    unknown = sorted(set(scenario_ids) - set(known))
    if unknown:
        raise click.BadParameter(f"unknown scenario(s): {', '.join(unknown)}; see `nerve-cds fixtures list`")
    chosen = list(scenario_ids) or known
    day = today.date() if today else date.today()
    scenarios = [load_scenario(settings.fixtures_dir, sid, day, prefix) for sid in chosen]
    _check_ids(scenarios, prefix)
    server = _server(fhir_server)
    base = server.text.rstrip("/")
    # The service's own FHIR client: a redirect is reported, never followed (it would re-POST
    # the patients to wherever it points), and answers are size-capped.
    client_settings = settings.model_copy(update={"fhir_connect_timeout": LOAD_SECONDS, "fhir_read_timeout": LOAD_SECONDS})
    console = Console(stderr=True)
    table = Table("scenario", "patient", "created", "updated", "result")
    failed = False
    unreachable = ""
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("loading", total=len(chosen))
        for scenario in scenarios:
            sid = scenario.id
            client = FhirClient(server, None, client_settings, budget=LOAD_SECONDS)
            try:
                response = client.post(scenario.bundle)
            except FetchError as exc:
                unreachable = f"Cannot reach the FHIR server at {base}: {exc}"
                table.add_row(sid, scenario.patient_id, "-", "-", "[red]not sent[/red]")
                break
            finally:
                client.close()
            reply = _transaction_reply(response)
            if response.status != 200:
                failed = True
                table.add_row(sid, scenario.patient_id, "-", "-", f"[red]{response.status}: {_outcome_text(response)}[/red]")
            elif reply is None:
                failed = True
                kind = response.content_type or "no content type"
                table.add_row(sid, scenario.patient_id, "-", "-",
                              f"[red]200 but not a FHIR Bundle ({kind}): is {base} a FHIR base URL?[/red]")
            else:
                created, updated = _count(reply)
                table.add_row(sid, scenario.patient_id, str(created), str(updated), "[green]loaded[/green]")
            progress.advance(task)
    Console().print(table)
    if unreachable:
        console.print(f"[red]{unreachable}[/red]")
    if failed or unreachable:
        sys.exit(1)
