"""The card library in cards/: read once at start-up and checked as a whole.

Services, thresholds, findings, rules, orders and sources cross-reference each other by name;
a name that does not resolve stops the service from starting, with the file and the place.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from .finding_defs import FindingDefs, load_finding_defs
from .render import Presentation, setting_texts, validate_orders
from .rules import Names, Rule, load_rules
from .schema import LibraryError, check_schema, read_schema, read_yaml
from .terminology import Terminology, load_terminology

__all__ = ["Library", "LibraryError", "ServiceDef", "load_library"]

HOOKS = frozenset({"patient-view", "order-select", "order-sign"})


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
    findings: FindingDefs
    settings: Mapping[str, float]
    rules: tuple[Rule, ...]
    presentation: Presentation
    path: Path
    pama_kinds: frozenset[str] = frozenset()

    def service(self, service_id: str) -> ServiceDef | None:
        for svc in self.services:
            if svc.id == service_id:
                return svc
        return None


def load_services(cards_dir: Path) -> tuple[ServiceDef, ...]:
    where = "cards/services.yaml"
    data = read_yaml(cards_dir / "services.yaml", where)
    check_schema(data, read_schema(cards_dir, "services"), where)
    services = []
    for i, entry in enumerate(data["services"]):
        prefetch = entry.get("prefetch", {})
        required = entry.get("requiredPrefetch", list(prefetch))
        unknown = sorted(set(required) - set(prefetch))
        if unknown:
            raise LibraryError(f"{where}: services[{i}].requiredPrefetch: not prefetch keys: {unknown}")
        if entry["hook"] not in HOOKS:
            raise LibraryError(f"{where}: services[{i}].hook: unknown hook '{entry['hook']}'")
        services.append(ServiceDef(
            id=entry["id"],
            hook=entry["hook"],
            title=entry["title"],
            description=" ".join(entry["description"].split()),
            usage_requirements=" ".join(entry["usageRequirements"].split()),
            prefetch=prefetch,
            required_prefetch=frozenset(required),
        ))
    ids = [s.id for s in services]
    if len(ids) != len(set(ids)):
        raise LibraryError(f"{where}: service ids must be unique")
    return tuple(services)


def load_library(cards_dir: Path) -> Library:
    cards_dir = Path(cards_dir)
    terminology = load_terminology(cards_dir / "valuesets")
    findings = load_finding_defs(cards_dir / "findings.yaml", terminology.valuesets.keys())

    settings_doc = read_yaml(cards_dir / "settings.yaml", "cards/settings.yaml")
    check_schema(settings_doc, read_schema(cards_dir, "settings"), "cards/settings.yaml")
    settings = {name: float(entry["value"]) for name, entry in settings_doc["thresholds"].items()}

    sources = read_yaml(cards_dir / "sources.yaml", "cards/sources.yaml")
    check_schema(sources, read_schema(cards_dir, "sources"), "cards/sources.yaml")
    orders = read_yaml(cards_dir / "orders.yaml", "cards/orders.yaml")
    check_schema(orders, read_schema(cards_dir, "orders"), "cards/orders.yaml")
    problems = validate_orders(orders["orders"])
    if problems:
        raise LibraryError(f"cards/orders.yaml: {problems[0]}")

    topics = {t["code"]: t["display"] for t in settings_doc["topics"]}
    names = Names(
        findings=findings.names(),
        labs=frozenset(findings.labs),
        settings=frozenset(settings),
        orders=frozenset(orders["orders"]),
        sources=frozenset(sources["sources"]),
        topics=frozenset(topics),
        study_kinds=frozenset(findings.study_kinds),
        medications=frozenset(findings.medications),
        sites=frozenset(findings.sites),
        hooks=HOOKS,
    )
    rules = load_rules(cards_dir / "rules", read_schema(cards_dir, "rules"), names)
    pama_kinds = frozenset(settings_doc.get("pama_imaging_kinds", []))
    unknown = sorted(pama_kinds - names.study_kinds)
    if unknown:
        raise LibraryError(f"cards/settings.yaml: pama_imaging_kinds: unknown order kinds {unknown}")
    presentation = Presentation(
        sources=sources["sources"],
        orders=orders["orders"],
        settings=settings,
        topics=topics,
        topic_system=settings_doc["topic_system"],
        override_system=settings_doc["override_system"],
        source_label=settings_doc["source_label"],
        finding_labels={n: fdef.label for n, fdef in findings.findings.items()},
        contributor_findings=tuple(sorted(findings.in_category("contributor"))),
        setting_texts=setting_texts(settings),
    )
    return Library(
        services=load_services(cards_dir),
        terminology=terminology,
        findings=findings,
        settings=settings,
        rules=rules,
        presentation=presentation,
        path=cards_dir,
        pama_kinds=pama_kinds,
    )
