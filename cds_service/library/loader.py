"""The card library in cards/: read once at start-up and checked as a whole.

Services, thresholds, findings, rules, orders and sources cross-reference each other by name;
a name that does not resolve stops the service from starting, with the file and the place.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import urlsplit

from ..core.settings import not_a_card_library
from ..hooks.registry import HOOKS
from .advice import citation_problems
from .context import ContextDefs, RecordCheck, load_context
from .finding_defs import FindingDefs, load_finding_defs
from .orders import validate_orders
from .presentation import Presentation, canonical, setting_texts
from .rules import Names, Rule, check_placeholders, load_rules
from .schema import LibraryError, Problems, check_schema, read_schema, read_yaml
from .site import SiteLayer, site_settings, site_texts
from .summaries import longest_values, summary_problems
from .terminology import Terminology, load_terminology
from .version import library_version

__all__ = ["Library", "LibraryError", "ServiceDef", "load_library"]

@dataclass(frozen=True)
class ServiceDef:
    """One discovery entry: a hook, its id, its prefetch templates."""

    id: str
    hook: str
    title: str
    description: str
    usage_requirements: str
    prefetch: Mapping[str, str]
    # Keys without which no sound advice can be given: unobtainable -> 412. The others are
    # optional: advice goes on without them and the rules can say what was not checked.
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
    context: ContextDefs
    pama_kinds: frozenset[str] = frozenset()
    missing_notes: Mapping[str, str] = field(default_factory=dict)  # key -> what is unknown without it
    canonical_base: str = ""  # as loaded, so a reload or a candidate library keeps the operator's URLs
    version: str = ""  # library/version.py: label and content hash, recorded with every issued card
    site: SiteLayer | None = None  # the site's layer over this library, when one was laid (library/site.py)

    def service(self, service_id: str) -> ServiceDef | None:
        for svc in self.services:
            if svc.id == service_id:
                return svc
        return None


def load_services(cards_dir: Path) -> tuple[tuple[ServiceDef, ...], dict[str, str]]:
    """The services, and for each optional prefetch key the note on what is unknown without it."""
    where = "cards/services.yaml"
    data = read_yaml(cards_dir / "services.yaml", where)
    check_schema(data, read_schema(cards_dir, "services"), where)
    when_missing = data["whenMissing"]
    services = []
    for i, entry in enumerate(data["services"]):
        prefetch = entry.get("prefetch", {})
        undeclared = sorted(set(prefetch) - set(when_missing))
        if undeclared:
            raise LibraryError(f"{where}: services[{i}].prefetch: keys without a whenMissing entry: {undeclared}")
        required = [k for k in prefetch if when_missing[k]["action"] == "fail"]
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
    notes = {k: v["note"] for k, v in when_missing.items() if "note" in v}
    return tuple(services), notes


def check_publishers(sources: Mapping[str, Any]) -> None:
    """Cards cite the publisher, never a summary site: every url's host is in publisher_hosts."""
    hosts = set(sources["publisher_hosts"])
    for name, source in sources["sources"].items():
        host = urlsplit(source["url"]).hostname
        if host not in hosts:
            raise LibraryError(f"cards/sources.yaml: sources.{name}.url: host '{host}' is not in publisher_hosts")


def _orders(cards_dir: Path, settings: frozenset[str] | None) -> Mapping[str, Any]:
    """cards/orders.yaml, checked; its texts' placeholders too when the thresholds are known."""
    where = "cards/orders.yaml"
    orders = read_yaml(cards_dir / "orders.yaml", where)
    check_schema(orders, read_schema(cards_dir, "orders"), where)
    problems = [f"{where}: {p}" for p in validate_orders(orders["orders"])]
    for name, order in orders["orders"].items():
        texts = [("label", order["label"])] + [(f"requests[{i}].description", r["description"])
                                               for i, r in enumerate(order["requests"]) if "description" in r]
        for at, text in texts:
            if settings is None:  # thresholds unknown (settings.yaml is broken): checked once it is fixed
                break
            try:
                check_placeholders(text, f"{where}: orders.{name}.{at}", settings)
            except LibraryError as exc:
                problems.extend(exc.problems)
    if problems:
        raise LibraryError.of(problems)
    return orders


def card_text_problems(rules: tuple[Rule, ...], check: RecordCheck) -> list[str]:
    """Each rule's `checked` groups exist, and no card text words its own "Checked in the record"
    line: the engine words it from the record (what was found is never asked about, §6.0.3)."""
    problems = []
    for rule in rules:
        for place, text in [("card", rule.text), *((f"variants[{i}]", v.text) for i, v in enumerate(rule.variants))]:
            if check.heading.lower() in text.detail.lower():
                problems.append(f"{rule.file}: {rule.id}: {place}.detail: says '{check.heading}' itself; name the groups "
                                f"under `checked` instead (cards/context.yaml record_check)")
            for group in (text.checked.not_found + text.checked.ask_about) if text.checked else ():
                if group not in check.groups:
                    problems.append(f"{rule.file}: {rule.id}: {place}.checked: unknown record_check group '{group}' "
                                    f"(cards/context.yaml)")
    return problems


def load_library(cards_dir: Path, canonical_base: str = "", site_dir: Path | None = None) -> Library:
    """The whole library, checked; `canonical_base` places the topic and override-reason code
    systems under the operator's own URL (see library/presentation.py canonical); `site_dir` lays
    a site's settings and texts over it (library/site.py).

    Every file is checked even when an earlier one is wrong, and LibraryError carries all the
    problems found; a check that needs names from a broken file (rules need findings, thresholds,
    orders, sources) is left until that file is fixed."""
    cards_dir = Path(cards_dir)
    problem = not_a_card_library(cards_dir)  # said as such, not as the first file that cannot be read
    if problem:
        raise LibraryError(problem)
    problems = Problems()
    terminology: Terminology | None = None
    findings: FindingDefs | None = None
    settings_doc: Mapping[str, Any] | None = None
    sources: Mapping[str, Any] | None = None
    orders: Mapping[str, Any] | None = None
    loaded_services: tuple[tuple[ServiceDef, ...], dict[str, str]] | None = None
    with problems.collect():
        terminology = load_terminology(cards_dir / "valuesets")
    with problems.collect():
        findings = load_finding_defs(cards_dir / "findings.yaml", terminology.valuesets.keys() if terminology is not None else None)
    with problems.collect():
        doc = read_yaml(cards_dir / "settings.yaml", "cards/settings.yaml")
        check_schema(doc, read_schema(cards_dir, "settings"), "cards/settings.yaml")
        settings_doc = doc  # only once it is known to have the right shape
    settings = {name: float(entry["value"]) for name, entry in settings_doc["thresholds"].items()} if settings_doc is not None else {}
    site_values: dict[str, tuple[float, float]] = {}
    if site_dir is not None and settings_doc is not None:
        with problems.collect():
            settings, site_values = site_settings(Path(site_dir), settings)
    with problems.collect():
        doc = read_yaml(cards_dir / "sources.yaml", "cards/sources.yaml")
        check_schema(doc, read_schema(cards_dir, "sources"), "cards/sources.yaml")
        check_publishers(doc)
        sources = doc
    with problems.collect():
        orders = _orders(cards_dir, frozenset(settings) if settings_doc is not None else None)
    with problems.collect():
        loaded_services = load_services(cards_dir)
    names = None
    # Rules are cross-checked as long as the files they name things in loaded; a broken value set
    # still leaves its id known (its file name).
    valueset_ids = (frozenset(terminology.valuesets) if terminology is not None
                    else frozenset(p.stem for p in (cards_dir / "valuesets").glob("*.json")))
    if (findings is not None and settings_doc is not None and sources is not None
            and orders is not None and loaded_services is not None):
        names = Names(
            findings=findings.names(),
            labs=frozenset(findings.labs),
            settings=frozenset(settings),
            orders=frozenset(orders["orders"]),
            sources=frozenset(sources["sources"]),
            topics=frozenset(t["code"] for t in settings_doc["topics"]),
            study_kinds=frozenset(findings.study_kinds),
            medications=frozenset(findings.medications),
            sites=frozenset(findings.sites),
            hooks=frozenset(HOOKS),
            valuesets=valueset_ids,
            prefetch_keys=frozenset(loaded_services[1]),
        )
    rules: tuple[Rule, ...] = ()
    with problems.collect():
        rules = load_rules(cards_dir / "rules", read_schema(cards_dir, "rules"), names)
    site_words: dict[str, tuple[str, ...]] = {}
    if site_dir is not None and names is not None and rules:
        with problems.collect():
            rules, site_words = site_texts(Path(site_dir), rules, names.settings)
    context = None
    if names is not None:
        with problems.collect():
            context = load_context(cards_dir, valuesets=names.valuesets, findings=names.findings, settings=names.settings,
                                   orders=names.orders, study_kinds=names.study_kinds, medications=names.medications,
                                   sources=names.sources)
    if context is not None and rules and terminology is not None and sources is not None and orders is not None:
        problems.found.extend(card_text_problems(rules, context.record_check))
        problems.found.extend(citation_problems(rules, sources, orders["orders"], terminology, context.orders.imaging_kinds))
    if settings_doc is not None and names is not None:
        unknown = sorted(frozenset(settings_doc.get("pama_imaging_kinds", [])) - names.study_kinds)
        if unknown:
            problems.found.append(f"cards/settings.yaml: pama_imaging_kinds: unknown order kinds {unknown}")
    problems.raise_any()
    # raise_any() found nothing, so every part loaded
    assert (terminology is not None and findings is not None and settings_doc is not None and sources is not None
            and orders is not None and loaded_services is not None and context is not None)
    services, missing_notes = loaded_services
    topics = {t["code"]: t["display"] for t in settings_doc["topics"]}
    pama_kinds = frozenset(settings_doc.get("pama_imaging_kinds", []))
    presentation = Presentation(
        sources=sources["sources"],
        orders=orders["orders"],
        settings=settings,
        topics=topics,
        topic_system=canonical(settings_doc["topic_system"], canonical_base),
        override_system=canonical(settings_doc["override_system"], canonical_base),
        source_label=settings_doc["source_label"],
        finding_labels={n: fdef.label for n, fdef in findings.findings.items()},
        contributor_findings=tuple(sorted(findings.in_category("contributor"))),
        setting_texts=setting_texts(settings),
        lab_names=tuple(findings.labs),
        medication_titles={m: terminology.valuesets[m].title for m in sorted(findings.medications)},
        contributor_medications=tuple(sorted(findings.contributor_medications)),
        record_check=context.record_check,
    )
    longest = longest_values(presentation.setting_texts, (("corrected " if lab.corrected_by else "") + (lab.label or lab.name)
                                                          for lab in findings.labs.values()))
    too_long = summary_problems(rules, longest, context.pregnancy.summary_wording)
    if too_long:
        raise LibraryError.of(too_long)
    return Library(
        services=services,
        terminology=terminology,
        findings=findings,
        settings=settings,
        rules=rules,
        presentation=presentation,
        path=cards_dir,
        context=context,
        pama_kinds=pama_kinds,
        missing_notes=missing_notes,
        canonical_base=canonical_base,
        version=library_version(cards_dir, settings_doc.get("library_version")),
        site=SiteLayer(Path(site_dir), site_values, site_words) if site_dir is not None else None,
    )
