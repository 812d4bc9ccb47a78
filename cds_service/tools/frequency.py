"""How often a rule fires on the fixture scenarios and the shipped Synthea records: the estimate
CLINICAL §6.14 asks for beside every new critical route in the sign-off document.

A route is a rule id, optionally narrowed to the calls where a finding of one category is present
(`CES-1@cord-context`: the cauda equina card with thoracic or cervical context, §6.1). A rule of
status shadow counts as firing: the estimate is for the day it is made active. The scenarios are
judged at noon today, as the golden tests judge them; the Synthea records are as generated and do
not move with today.
"""
from __future__ import annotations

import gzip
import json
import sys
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Sequence

import click

from ..core.settings import Settings
from ..engine.trace import FIRED, SHADOW
from ..hooks.registry import HOOKS
from ..library.loader import Library
from ..workbench.cases import Case, Run, fixture_cases, noon, run_case
from .analyst import library_or_exit

SYNTHEA = "synthea-r4"
_BILLING = frozenset({"Claim", "ExplanationOfBenefit"})  # read by no rule


class RouteError(ValueError):
    """A route that names no rule or no finding category of the library."""


@dataclass(frozen=True)
class Route:
    spec: str
    rule: str
    category: str | None

    @classmethod
    def parse(cls, spec: str, library: Library) -> Route:
        rule, _, category = spec.partition("@")
        if rule not in {r.id for r in library.rules}:
            raise RouteError(f"route '{spec}': no rule '{rule}' in the card library")
        if category and not library.findings.in_category(category):
            raise RouteError(f"route '{spec}': no finding has the category '{category}'")
        return cls(spec, rule, category or None)

    def fired(self, run: Run, library: Library) -> bool:
        if not any(t.rule_id == self.rule and t.outcome in (FIRED, SHADOW) for t in run.advice.trace):
            return False
        if self.category is None:
            return True
        found = run.advice.findings
        return found is not None and any(found.present(name) for name in library.findings.in_category(self.category))


@dataclass(frozen=True)
class Frequency:
    route: str
    scenarios: tuple[str, ...]  # the scenario ids it fires on
    scenario_total: int
    synthea: tuple[str, ...]  # the Synthea record names it fires on
    synthea_total: int

    def line(self) -> str:
        def part(hits: Sequence[str], total: int, what: str) -> str:
            return f"{len(hits)} of {total} {what}" + (f" ({', '.join(hits)})" if hits else "")

        return (f"{self.route}: {part(self.scenarios, self.scenario_total, 'fixture scenarios')}; "
                f"{part(self.synthea, self.synthea_total, 'Synthea records')}")


def synthea_cases(folder: Path) -> list[Case]:
    """Each gzipped Synthea transaction Bundle as one call of the patient-only hook with its resources
    as prefetch (billing entries left out); the bundle's urn:uuid references stay as written, the
    Patient entry's fullUrl makes them the context patient's."""
    hook = next(name for name, h in HOOKS.items() if h.drafts == "none")
    cases = []
    for path in sorted(Path(folder).glob("*.json.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as f:
            bundle = json.load(f)
        entries = [{"fullUrl": e.get("fullUrl"), "resource": e["resource"]} for e in bundle["entry"]
                   if e["resource"]["resourceType"] not in _BILLING]
        patient = next(e["resource"]["id"] for e in entries if e["resource"]["resourceType"] == "Patient")
        name = path.name.removesuffix(".json.gz")
        context = {"patientId": patient, "userId": "Practitioner/nerve-cds-frequency",
                   "hookInstance": str(uuid.uuid5(uuid.NAMESPACE_URL, name))}
        cases.append(Case(name, hook, context, {"record": {"resourceType": "Bundle", "type": "searchset",
                                                                    "entry": entries}}))
    return cases


def route_frequency(library: Library, fixtures_dir: Path, specs: Sequence[str], today: date) -> list[Frequency]:
    """For each route, the scenarios and Synthea records it fires on (RouteError for an unknown one)."""
    routes = [Route.parse(spec, library) for spec in specs]
    now = noon(today)
    scenario_runs = [run_case(library, case, now) for case in fixture_cases(fixtures_dir, today)]
    synthea_runs = [run_case(library, case, now) for case in synthea_cases(Path(fixtures_dir) / SYNTHEA)]

    def hits(runs: list[Run], route: Route) -> tuple[str, ...]:
        return tuple(run.case.id for run in runs if route.fired(run, library))

    return [Frequency(route.spec, hits(scenario_runs, route), len(scenario_runs), hits(synthea_runs, route), len(synthea_runs))
            for route in routes]


def as_json(frequencies: Sequence[Frequency]) -> list[dict[str, Any]]:
    return [{"route": f.route, "scenarios": list(f.scenarios), "scenario_total": f.scenario_total,
             "synthea": list(f.synthea), "synthea_total": f.synthea_total} for f in frequencies]


@click.command("frequency")
@click.argument("routes", nargs=-1, required=True)
@click.option("--cards-dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="The card library to run (default: the configured one).")
@click.option("--json", "json_out", is_flag=True, help="As JSON: per route the scenarios and records it fires on.")
def cards_frequency(routes: tuple[str, ...], cards_dir: Path | None, json_out: bool) -> None:
    """How often each ROUTE fires on the fixture scenarios and the shipped Synthea records. A route
    is a rule id, or RULE@CATEGORY for the calls where a finding of that category (cards/findings.yaml)
    is present, e.g. `CES-1@cord-context ANW-1 RF-1-INFECTION-NEURO RF-1-HAEMATOMA`: the estimates
    of docs/clinical-safety.md section 6 (exit 2 for an unknown rule or category)."""
    library = library_or_exit(cards_dir, status=2)
    try:
        found = route_frequency(library, Settings.from_env().fixtures_dir, routes, datetime.now(timezone.utc).date())
    except RouteError as exc:
        click.secho(f"nerve-cds: {exc}", fg="red", err=True)
        sys.exit(2)
    click.echo(json.dumps(as_json(found), indent=2) if json_out else "\n".join(f.line() for f in found))
