"""The informatics team's commands: explain a patient's cards, diff two card libraries over
scenarios, report feedback, and run the workbench pages on loopback."""
from __future__ import annotations

import json
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from ..core.settings import Settings
from ..core.windows import DEFAULT_WEEKS, MAX_WEEKS, WindowError, weeks_window
from ..engine.explain import outline
from ..library.loader import Library, LibraryError, load_library
from ..library.lookup import where
from ..storage import open_storage
from ..storage.versions import VersionStats
from ..workbench.cases import Case, CaseError, fhir_case, fixture_case, fixture_cases, folder_cases, noon, request_case, run_case
from ..workbench.preview import VERDICTS, Preview, change_lines, preview
from ..workbench.words import CardWords
from .matrix import matrix_lines
from .report_lines import HEAD, counts_line, report_lines
from .terminal import show_cards


def library_or_exit(directory: Path | None, status: int = 1, site: Path | None = None) -> Library:
    """The card library in `directory` (default: the configured one, with the configured site
    layer), with the `site` layer if given, or INVALID and exit `status`."""
    try:
        settings = Settings.from_env()
        return load_library(directory or settings.cards_dir, settings.canonical_base,
                            site or (settings.site_dir if directory is None else None))
    except LibraryError as exc:
        click.secho(f"INVALID: {exc}", fg="red", err=True)
        sys.exit(status)


def named_by_operator(settings: Settings, fhir_server: str) -> Settings:
    """On the command line the operator names the FHIR server, so it is the one server allowed
    (plain http too); it still goes through the same strict URL check as every fhirServer."""
    return settings.model_copy(update={"fhir_allowlist": (fhir_server,), "fhir_allow_http": True})


@click.command()
@click.argument("scenario", required=False)
@click.option("--request", "request_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A CDS Hooks request JSON file with its prefetch.")
@click.option("--fhir-server", help="FHIR R4 base URL holding the patient (with --patient).")
@click.option("--patient", help="Patient id on that server.")
@click.option("--hook", help="With --fhir-server: the hook to call (default patient-view); an order hook needs --drafts.")
@click.option("--drafts", "drafts_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="With --hook order-select/order-sign: the draft orders (a ServiceRequest, a list, or a Bundle).")
@click.option("--rule", "rules", multiple=True, help="Show only this rule (repeatable), e.g. --rule CES-2.")
@click.option("--cards-dir", type=click.Path(exists=True, file_okay=False, path_type=Path), help="Card library (default: the configured one).")
@click.option("--json", "as_json", is_flag=True, help="Print the cards and the explanation as JSON.")
def explain(scenario: str | None, request_file: Path | None, fhir_server: str | None, patient: str | None,
            hook: str | None, drafts_file: Path | None, rules: tuple[str, ...], cards_dir: Path | None, as_json: bool) -> None:
    """Why each rule fired, did not fire, or was suppressed, for a scenario id from fixtures/fhir,
    a request file, or a patient on a FHIR server (any hook): every condition, the findings that
    fed it (resource ids, codes, dates), whether a suppressed rule would have fired, and the
    evidence set aside."""
    settings = Settings.from_env()
    library = library_or_exit(cards_dir)
    now = datetime.now(timezone.utc)
    try:
        if scenario:
            case, now = fixture_case(settings.fixtures_dir, scenario, now.date()), noon(now.date())
        elif request_file:
            case = request_case(request_file)
        elif fhir_server and patient:
            drafts = drafts_file.read_text(encoding="utf-8") if drafts_file else ""
            case = fhir_case(library, named_by_operator(settings, fhir_server), fhir_server, patient, hook, drafts)
        else:
            raise click.UsageError("give a SCENARIO id, --request FILE, or --fhir-server URL with --patient ID")
        run = run_case(library, case, now)
    except CaseError as exc:
        click.secho(f"nerve-cds: {exc}", fg="red", err=True)
        sys.exit(1)
    unknown = sorted(set(rules) - {r.id for r in library.rules})
    if unknown:
        click.secho(f"nerve-cds: --rule: no rule {', '.join(unknown)} in the card library", fg="red", err=True)
        sys.exit(2)
    if rules:
        run.report["rules"] = [r for r in run.report["rules"] if r["rule"] in rules]
    if as_json:
        click.echo(json.dumps({"case": case.id, "hook": case.hook, "cards": run.cards, "explanation": run.report}, indent=2))
        return
    show_cards(Console(), {"cards": run.cards})
    for line in outline(run.report):
        rule_line = not line.startswith(" ")
        style = None if not rule_line or "NOT FIRED" in line else "magenta" if "SUPPRESSED" in line else "green" if "FIRED" in line else None
        click.secho(line, fg=style, bold=rule_line)


def _cases(settings: Settings, requests: Path | None, fhir_server: str | None, patients: tuple[str, ...],
           library: Library) -> tuple[list[Case], datetime]:
    now = datetime.now(timezone.utc)
    if requests:
        return folder_cases(requests), now
    if fhir_server and patients:
        return [fhir_case(library, named_by_operator(settings, fhir_server), fhir_server, p) for p in patients], now
    return fixture_cases(settings.fixtures_dir, now.date()), noon(now.date())


@click.command("diff")
@click.option("--cards-dir", "changed", required=True, type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="The changed card library.")
@click.option("--against", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="The library to compare with (default: the shipped one).")
@click.option("--requests", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="A folder of the team's own request files (JSON with prefetch) instead of fixtures/fhir.")
@click.option("--fhir-server", help="Run patients on this FHIR server instead (with --patient, repeatable).")
@click.option("--patient", "patients", multiple=True, help="Patient id on --fhir-server.")
@click.option("--matrix", is_flag=True, help="Also print the scenario x card-topic matrix for both libraries.")
@click.option("--site", "site", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Lay this site layer (settings.yaml, texts.yaml) over the changed library: what the site changes.")
@click.option("--json", "as_json", is_flag=True, help="Print the verdict, broken expectations, matrix and changes as JSON.")
def cards_diff(changed: Path, against: Path | None, requests: Path | None, fhir_server: str | None,
               patients: tuple[str, ...], matrix: bool, site: Path | None, as_json: bool) -> None:
    """Run every scenario against the current and a changed card library. Reports first the
    signed-off expectations (fixtures/fhir/*/expected.yaml) the change breaks, then the scenarios
    that gain or lose a card, then wording-only changes.

    Exit status, for a CI job: 0 no change, 1 wording only, 2 cannot compare (bad option,
    a library that does not load, unreadable requests), 3 cards gained, lost or with another
    indicator, 4 signed-off expectations broken."""
    settings = Settings.from_env()
    before, after = library_or_exit(against, status=2), library_or_exit(changed, status=2, site=site)
    try:
        cases, now = _cases(settings, requests, fhir_server, patients, before)
    except CaseError as exc:
        click.secho(f"nerve-cds: {exc}", fg="red", err=True)
        sys.exit(2)
    result = preview(before, after, cases, now)
    layers = {side: lib.site for side, lib in (("before", before), ("after", after)) if lib.site}
    if as_json:
        click.echo(json.dumps({**diff_json(result), "site": {side: layer.as_json() for side, layer in layers.items()}}, indent=2))
    else:
        for side, layer in layers.items():
            click.secho(f"Site layer ({'current' if side == 'before' else 'changed'} library): {layer.folder}", bold=True)
            for line in layer.lines() or ["(changes nothing)"]:
                click.echo(f"  {line}")
        _print_diff(result, matrix)
    sys.exit(VERDICTS[result.verdict])


def diff_json(result: Preview) -> dict[str, Any]:
    return {
        "verdict": result.verdict, "exit": VERDICTS[result.verdict], "headline": result.headline(),
        "broken": [{"case": b.case, "topic": b.topic, "expected": b.expected, "got": b.got} for b in result.broken],
        "untested": [u.as_json() for u in result.untested],
        "topics": list(result.topics), "before": result.before, "after": result.after,
        "changes": [{"case": c.case, "kind": "wording" if c.wording_only else "cards", "gained": c.gained,
                     "lost": c.lost, "indicator_changed": c.indicator_changed, "reworded": list(c.reworded),
                     "why": c.why} for c in result.changes]}


def _print_diff(result: Preview, matrix: bool) -> None:
    if matrix:
        for line in matrix_lines(result.cases, result.topics, result.before, result.after):
            click.echo(line)
    if result.broken:
        click.secho("Signed-off expectations broken (fixtures/fhir/<scenario>/expected.yaml):", fg="red", bold=True)
        width = max(len(b.case) for b in result.broken)
        for b in result.broken:
            click.secho(f"  {b.case:{width}}  {b.topic}: expected {b.expected}, got {b.got}", fg="red")
    for title, changes in (("Cards gained or lost:", result.card_changes), ("Wording only:", result.wording_changes)):
        if changes:
            click.secho(title, bold=True)
        for change in changes:
            click.secho(change.case, bold=True)
            for line in change_lines(change):
                click.secho(line, fg="red" if line.startswith("  -") else "green" if line.startswith("  +") else None)
    for line in result.headline():
        flagged = line.startswith(("BROKEN", "UNTESTED"))
        click.secho(line, fg="red" if line.startswith("BROKEN") else "yellow" if flagged else None, bold=flagged)


@click.group()
def feedback() -> None:
    """Clinicians' feedback on the cards."""


@feedback.command("report")
@click.option("--weeks", "window", default=str(DEFAULT_WEEKS), show_default=True,
              help=f"How far back to look, 1 to {MAX_WEEKS} weeks.")
@click.option("--client", metavar="ISS", help="Only the cards of this CDS client (its JWT iss).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--csv", "as_csv", is_flag=True, help="Print the report as CSV (section, name, item, value).")
def feedback_report(window: str, client: str | None, as_json: bool, as_csv: bool) -> None:
    """Per card topic and per rule, card by card: issued, answered, accepted (with which
    suggestion), overridden (why, and the comments), no response, and cards sent to clients with
    no feedback channel; per hook, client and user, week by week; each with the number of distinct
    patients (counted, never named)."""
    try:
        weeks = weeks_window(window)
    except WindowError as exc:
        click.secho(f"nerve-cds: --weeks: {exc}", fg="red", err=True)
        sys.exit(2)
    settings = Settings.from_env()
    vocabulary = CardWords(library_or_exit(None))
    storage = open_storage(settings.database_url)
    since = datetime.now(timezone.utc) - timedelta(weeks=weeks)
    report, versions = storage.report(since, client, vocabulary), storage.versions(since, client, vocabulary)
    if as_csv:
        click.echo(report.as_csv(), nl=False)
    elif as_json:
        body = report.as_json()
        body["versions"] = [v.as_json() for v in versions]
        click.echo(json.dumps(body, indent=2))
    else:
        for line in report_lines(report):
            click.echo(line)
        if versions:
            _print_versions(versions)


def _print_versions(versions: list[VersionStats]) -> None:
    """Per card library version, oldest first: a change is read as the rows before and after it.
    The same counts and share as the topic table, of each version's cards."""
    click.echo(f"\n{'library version':34} {'first issued':16} {'last issued':16} {HEAD}")
    for v in versions:
        first, last = (t.strftime("%Y-%m-%d %H:%M") if t else "-" for t in (v.first_issued, v.last_issued))
        click.echo(f"{v.version[:34]:34} {first:16} {last:16} {counts_line(v.total)}")
        for topic, c in sorted(v.topics.items()):
            click.echo(f"  {topic[:66]:66} {counts_line(c)}")


@click.command()
@click.option("--port", default=8081, show_default=True, type=int)
@click.option("--dev", is_flag=True, help="Dev mode: open on loopback without a token, cards/ reloaded on edit.")
def workbench(port: int, dev: bool) -> None:
    """Run the service with the workbench at http://127.0.0.1:PORT/workbench/ (loopback only)."""
    from werkzeug.serving import run_simple

    from ..web.app import create_app

    overrides: dict = {"workbench_enabled": True}
    if dev:
        overrides.update(dev=True, auth_enabled=False)
    settings = Settings.from_env(**overrides)
    if not settings.public_base_url:  # it serves this one loopback URL only
        settings = settings.model_copy(update={"public_base_url": f"http://127.0.0.1:{port}"})
    if not dev and settings.workbench_token is None:
        click.secho("nerve-cds: set NERVE_CDS_WORKBENCH_TOKEN (or use --dev on a machine with no real patient data)",
                    fg="red", err=True)
        sys.exit(2)
    click.secho(f"workbench: http://127.0.0.1:{port}/workbench/", bold=True, err=True)
    run_simple("127.0.0.1", port, create_app(settings), threaded=True)


@click.command("where")
@click.argument("query")
@click.option("--cards-dir", type=click.Path(exists=True, file_okay=False, path_type=Path), help="Card library (default: the configured one).")
@click.option("--json", "as_json", is_flag=True, help="Print the answer as JSON.")
def cards_where(query: str, cards_dir: Path | None, as_json: bool) -> None:
    """Which value sets hold a CODE (or SYSTEM|CODE) and which findings, labs and rules use them;
    or where a SETTING is used: the rules (conditions, scope, card text) and every other library
    file naming it (context.yaml, findings.yaml ...). Exit 1 when the library knows neither."""
    answer = where(library_or_exit(cards_dir, status=2), query)
    if as_json:
        click.echo(json.dumps(answer.as_json(), indent=2))
    else:
        if answer.setting is not None:
            click.echo(f"setting {query} = {answer.setting:g}")
        for vs_id, system, code, display in answer.valuesets:
            click.echo(f"value set {vs_id}: {system}|{code}{' ' + display if display else ''}")
        for use in answer.uses:
            click.echo(f"  {use.kind} {use.name}: {use.via}")
        if answer.found and not answer.uses:
            click.echo("  used by no finding, lab or rule")
    if not answer.found:
        click.secho(f"nerve-cds: '{query}' is neither a setting nor a code in any value set of the card library",
                    fg="red", err=True)
        sys.exit(1)
