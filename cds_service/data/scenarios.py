"""Patient scenarios in fixtures/fhir/<id>/: a transaction Bundle, a hook request, the expected cards.

Dates in the fixtures are written relative to "today" ("@T-14d", "@T-14dT09:00:00Z", "@T-42y")
so every scenario means the same thing on any day; they are made concrete when loaded.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Mapping

import yaml

RELATIVE = re.compile(r"^@T([+-]\d+)([dy])(T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2}))?$")
REFERENCE = re.compile(r"^([A-Z][A-Za-z]+)/([A-Za-z0-9\-.]+)$")


@dataclass(frozen=True)
class Scenario:
    id: str
    bundle: dict[str, Any]
    request: dict[str, Any]
    expected: Mapping[str, Any]

    @property
    def patient_id(self) -> str:
        return self.request["context"]["patientId"]


def list_scenarios(fixtures_dir: Path) -> list[str]:
    base = Path(fixtures_dir) / "fhir"
    return sorted(p.name for p in base.iterdir() if (p / "bundle.json").is_file())


def concrete_date(token: str, today: date) -> str:
    """"@T-14d" -> the ISO date 14 days before today; time suffixes are kept; "y" counts years."""
    match = RELATIVE.match(token)
    if not match:
        raise ValueError(f"malformed relative date {token!r}: write @T-14d, @T+3d, @T-42y or @T-14dT09:00:00Z")
    amount, unit, time_part = int(match.group(1)), match.group(2), match.group(3) or ""
    if unit == "d":
        day = today + timedelta(days=amount)
    else:
        year = today.year + amount
        day = today.replace(year=year, day=28) if (today.month, today.day) == (2, 29) else today.replace(year=year)
    return day.isoformat() + time_part


def _walk(value: Any, today: date, prefix: str) -> Any:
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if prefix and key == "id" and isinstance(item, str) and "resourceType" in value:
                out[key] = prefix + item
            elif prefix and key in ("reference", "url") and isinstance(item, str) and (match := REFERENCE.match(item)):
                kind, ident = match.groups()
                out[key] = f"{kind}/{prefix}{ident}"
            else:
                out[key] = _walk(item, today, prefix)
        return out
    if isinstance(value, list):
        return [_walk(item, today, prefix) for item in value]
    if isinstance(value, str) and value.startswith("@T"):
        return concrete_date(value, today)
    return value


def load_scenario(fixtures_dir: Path, scenario_id: str, today: date, prefix: str = "") -> Scenario:
    """The scenario with dates made concrete for `today`; `prefix` keeps loads apart on a shared server."""
    directory = Path(fixtures_dir) / "fhir" / scenario_id
    bundle = _walk(json.loads((directory / "bundle.json").read_text(encoding="utf-8")), today, prefix)
    request = _walk(json.loads((directory / "request.json").read_text(encoding="utf-8")), today, prefix)
    context = request["context"]
    for key in ("patientId", "encounterId"):
        if key in context:
            context[key] = prefix + context[key]
    if "selections" in context:
        context["selections"] = [_walk({"reference": s}, today, prefix)["reference"] for s in context["selections"]]
    expected = yaml.safe_load((directory / "expected.yaml").read_text(encoding="utf-8"))
    return Scenario(id=scenario_id, bundle=bundle, request=request, expected=expected)
