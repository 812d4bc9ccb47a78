"""The patients an analyst asks about: a fixture scenario, the team's own request files, or a
patient on a FHIR server; each becomes one hook call's context and data, run through the engine.

Every case is advised by the one engine entry point, advise(), in explain mode: the cards and
their explanation come from the same run.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timezone
from pathlib import Path
from typing import Any, Mapping

from pydantic import ValidationError

from ..core import jsonin
from ..core.errors import HttpError
from ..core.settings import Settings
from ..core.validation import describe
from ..data import prefetch
from ..data.ownership import Owner
from ..data.scenarios import Scenario, list_scenarios, load_scenario
from ..engine.advise import Advice, advise
from ..engine.explain import explanation
from ..engine.render import CardId, plain_card_id
from ..hooks.registry import HOOKS
from ..library.loader import Library, ServiceDef
from .orders_form import DraftsError, order_context


class CaseError(ValueError):
    """A case that cannot be run: unreadable file, unknown hook, unreachable patient."""


@dataclass(frozen=True)
class Case:
    id: str
    hook: str
    context: Mapping[str, Any]  # includes hookInstance
    data: Mapping[str, Any]  # prefetch-shaped: key -> resource or Bundle
    owner: Owner | None = None  # who fetching judged the data to be about
    expected: Mapping[str, Any] | None = None  # a fixture's signed-off expected.yaml


@dataclass(frozen=True)
class Run:
    case: Case
    advice: Advice
    report: dict[str, Any]

    @property
    def cards(self) -> list[dict[str, Any]]:
        return self.advice.cards


def noon(today: date) -> datetime:
    """The instant fixtures are judged at: noon UTC of `today`, as the golden tests do."""
    return datetime.combine(today, time(12, 0), timezone.utc)


def fixture_case(fixtures_dir: Path, scenario_id: str, today: date) -> Case:
    if scenario_id not in list_scenarios(fixtures_dir):
        raise CaseError(f"no scenario '{scenario_id}' in {Path(fixtures_dir) / 'fhir'}")
    return scenario_case(load_scenario(fixtures_dir, scenario_id, today))


def scenario_case(scenario: Scenario) -> Case:
    """A fixture's resources handed to the engine as if prefetched, with its request's context."""
    data = {"record": {"resourceType": "Bundle", "type": "searchset",
                       "entry": [{"resource": e["resource"]} for e in scenario.bundle["entry"]]}}
    context = {**scenario.request["context"], "hookInstance": scenario.request["hookInstance"]}
    return Case(scenario.id, scenario.request["hook"], context, data, expected=scenario.expected)


def fixture_cases(fixtures_dir: Path, today: date) -> list[Case]:
    return [fixture_case(fixtures_dir, sid, today) for sid in list_scenarios(fixtures_dir)]


def request_case(path: Path) -> Case:
    """A CDS Hooks request saved as JSON, with its prefetch (what the EHR would have sent)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise CaseError(f"{path}: not readable ({exc.__class__.__name__})") from None
    except UnicodeDecodeError:
        raise CaseError(f"{path}: not UTF-8 text (a request file is JSON)") from None
    return parse_request_case(text, Path(path).stem)


def parse_request_case(text: str, name: str) -> Case:
    """A request's JSON text: hook, context and prefetch; hookInstance kept if given. Read with the
    hook endpoint's limits (no NaN, no deep nesting) and its context model, so what the engine
    gets here is what it would get there; anything else is a CaseError naming the field."""
    try:
        body = jsonin.loads(text)
    except jsonin.JsonError as exc:
        raise CaseError(f"{name}: {exc}") from None
    hook = body.get("hook") if isinstance(body, dict) else None
    if not isinstance(hook, str) or hook not in HOOKS or not isinstance(body.get("context"), dict):
        raise CaseError(f"{name}: a request needs a known 'hook' and a 'context' object")
    if not isinstance(body.get("prefetch"), dict):
        raise CaseError(f"{name}: the request has no 'prefetch' object; the workbench runs requests as sent")
    try:
        HOOKS[hook].context.model_validate(body["context"])
    except ValidationError as exc:
        raise CaseError(f"{name}: {describe(exc, 'context.')}") from None
    instance = body.get("hookInstance")
    context = {**body["context"], "hookInstance": instance if isinstance(instance, str) and instance
               else str(uuid.uuid5(uuid.NAMESPACE_URL, name))}
    for key, value in body["prefetch"].items():
        if value is not None and (why := prefetch.unusable(value)):  # the hook endpoint's check
            raise CaseError(f"{name}: prefetch '{key}' cannot be used: {why}")
    return Case(name, hook, context, body["prefetch"])


def folder_cases(folder: Path) -> list[Case]:
    files = sorted(Path(folder).glob("*.json"))
    if not files:
        raise CaseError(f"{folder}: no *.json request files")
    return [request_case(p) for p in files]


def fhir_case(library: Library, settings: Settings, fhir_server: str, patient: str, hook: str | None = None,
              drafts: str = "") -> Case:
    """A patient on a FHIR server, its data fetched with the service's own prefetch templates exactly
    as a hook call's: the server must pass the same allowlist and https rule (data.fhir.check_server,
    from `settings`). `hook` defaults to the patient-only one; an order hook takes `drafts`
    (orders_form.order_context) as its draftOrders."""
    hook = hook or next(name for name, h in HOOKS.items() if h.drafts == "none")
    service = service_for(library, hook)
    context = {"patientId": patient, "userId": "Practitioner/nerve-cds-workbench",
               "hookInstance": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{fhir_server}|{patient}|{hook}|{drafts}"))}
    try:
        context = order_context(hook, context, drafts)
    except DraftsError as exc:
        raise CaseError(f"Patient/{patient}, {hook}: {exc}") from None
    try:
        gathered = prefetch.gather(templates=service.prefetch, required=service.required_prefetch, context=context,
                                   user_id=context["userId"], prefetch=None, fhir_server=fhir_server,
                                   access_token=None, settings=settings, allowlist=settings.fhir_allowlist)
    except HttpError as exc:
        raise CaseError(f"Patient/{patient} on {fhir_server}: {exc.message}") from None
    if not any(isinstance(v, dict) and v.get("resourceType") == "Patient" for v in gathered.data.values()):
        raise CaseError(f"no Patient/{patient} on {fhir_server}")
    return Case(f"{patient}@{fhir_server}", hook, context, gathered.data, gathered.owner)


def service_for(library: Library, hook: str) -> ServiceDef:
    service = next((s for s in library.services if s.hook == hook), None)
    if service is None:
        raise CaseError(f"the library offers no service for the {hook} hook")
    return service


def run_case(library: Library, case: Case, now: datetime, card_id: CardId = plain_card_id) -> Run:
    """Cards and their explanation, from one explain-mode engine run; `card_id` makes the cards'
    uuids (the service's signed ones when the page can send feedback on them)."""
    try:
        advice = advise(library, service_for(library, case.hook), case.context, case.data, now, explain=True,
                        card_id=card_id, owner=case.owner)
    except HttpError as exc:  # the data cannot be advised on (not this patient's, a foreign draft)
        raise CaseError(f"{case.id}: {exc.message}") from None
    return Run(case, advice, explanation(advice, library))
