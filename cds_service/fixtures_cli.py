"""`nerve-cds fixtures`: list the scenario fixtures and load them into any FHIR R4 server."""
from __future__ import annotations

import sys
from datetime import date, datetime
from typing import Any

import click
import requests
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from .scenarios import list_scenarios, load_scenario
from .settings import Settings

FHIR_JSON = "application/fhir+json"


@click.group()
def fixtures() -> None:
    """Patient scenarios from fixtures/fhir: list them, load them into a FHIR server."""


@fixtures.command("list")
def list_command() -> None:
    """Scenario ids, what they show, and the cards they must produce."""
    settings = Settings.from_env()
    table = Table("scenario", "hook", "title", "expected cards")
    for sid in list_scenarios(settings.fixtures_dir):
        scenario = load_scenario(settings.fixtures_dir, sid, date.today())
        cards = ", ".join(f"{f['topic']} ({f['indicator']})" for f in scenario.expected["fire"]) or "none"
        table.add_row(sid, scenario.request["hook"], scenario.expected["title"], cards)
    Console().print(table)


def _outcome_text(response: requests.Response) -> str:
    try:
        body = response.json()
        return "; ".join(i.get("diagnostics", i.get("code", "")) for i in body.get("issue", [])) or response.reason
    except ValueError:
        return response.reason or f"HTTP {response.status_code}"


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
    base = fhir_server.rstrip("/")
    console = Console(stderr=True)
    table = Table("scenario", "patient", "created", "updated", "result")
    failed = False
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("loading", total=len(chosen))
        for sid in chosen:
            scenario = load_scenario(settings.fixtures_dir, sid, day, prefix)
            try:
                response = requests.post(base, json=scenario.bundle, timeout=60,
                                         headers={"Content-Type": FHIR_JSON, "Accept": FHIR_JSON})
            except requests.RequestException as exc:
                console.print(f"[red]Cannot reach the FHIR server at {base}: {exc.__class__.__name__}[/red]")
                sys.exit(1)
            if response.status_code != 200:
                failed = True
                table.add_row(sid, scenario.patient_id, "-", "-", f"[red]{response.status_code}: {_outcome_text(response)}[/red]")
            else:
                created, updated = _count(response.json())
                table.add_row(sid, scenario.patient_id, str(created), str(updated), "[green]loaded[/green]")
            progress.advance(task)
    Console().print(table)
    if failed:
        sys.exit(1)
