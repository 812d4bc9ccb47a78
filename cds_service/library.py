"""The card library in cards/, loaded and checked once at start-up.

Skeleton: services are loaded here; the card-library work extends Library with settings,
finding definitions and rules, and validates all of it against a schema owned by the code.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import yaml

from .terminology import Terminology, load_terminology


class LibraryError(ValueError):
    """A card library file is wrong; the message names the file, the place and the problem."""


@dataclass(frozen=True)
class ServiceDef:
    """One discovery entry: a hook, its id, its prefetch templates."""

    id: str
    hook: str
    title: str
    description: str
    usage_requirements: str
    prefetch: Mapping[str, str]
    # Keys without which no sound advice can be given: unobtainable -> 412.
    required_prefetch: frozenset[str]

    def discovery(self) -> dict[str, Any]:
        return {
            "hook": self.hook,
            "id": self.id,
            "title": self.title,
            "description": self.description,
            "prefetch": dict(self.prefetch),
            "usageRequirements": self.usage_requirements,
        }


@dataclass(frozen=True)
class Library:
    services: tuple[ServiceDef, ...]
    terminology: Terminology
    path: Path
    extra: Mapping[str, Any] = field(default_factory=dict)

    def service(self, service_id: str) -> ServiceDef | None:
        for svc in self.services:
            if svc.id == service_id:
                return svc
        return None


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise LibraryError(f"{path}: cannot be read as YAML: {exc}") from exc


def load_services(path: Path) -> tuple[ServiceDef, ...]:
    data = _read_yaml(path)
    services = []
    for i, entry in enumerate(data.get("services", [])):
        prefetch = entry.get("prefetch", {})
        services.append(
            ServiceDef(
                id=entry["id"],
                hook=entry["hook"],
                title=entry["title"],
                description=entry["description"],
                usage_requirements=entry["usageRequirements"],
                prefetch=prefetch,
                required_prefetch=frozenset(entry.get("requiredPrefetch", list(prefetch))),
            )
        )
    return tuple(services)


def load_library(cards_dir: Path) -> Library:
    cards_dir = Path(cards_dir)
    return Library(
        services=load_services(cards_dir / "services.yaml"),
        terminology=load_terminology(cards_dir / "valuesets"),
        path=cards_dir,
    )
