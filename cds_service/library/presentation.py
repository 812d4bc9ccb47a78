"""What rendering needs from the library besides the rules: sources, orders, wording settings."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from .context import RecordCheck


@dataclass(frozen=True)
class Presentation:
    """Library parts rendering needs: sources, orders, settings, topic and override systems."""

    sources: Mapping[str, Mapping[str, Any]]
    orders: Mapping[str, Mapping[str, Any]]
    settings: Mapping[str, float]
    topics: Mapping[str, str]
    topic_system: str
    override_system: str
    source_label: str
    finding_labels: Mapping[str, str]
    contributor_findings: tuple[str, ...]
    setting_texts: Mapping[str, str]  # each threshold as text, and in weeks as `<name>_weeks`
    lab_names: tuple[str, ...] = ()  # labs the library reads, for "not measured" statements
    medication_titles: Mapping[str, str] = field(default_factory=dict)  # drug-class value set -> its title
    contributor_medications: tuple[str, ...] = ()  # drug classes named as twitching contributors
    record_check: RecordCheck | None = None  # how "Checked in the record" is worded (cards/context.yaml)


def number_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def setting_texts(settings: Mapping[str, float]) -> dict[str, str]:
    """Each threshold as text for card wording, and in weeks as `<name>_weeks`."""
    texts = {}
    for name, value in settings.items():
        texts[name] = number_text(value)
        texts[f"{name}_weeks"] = number_text(value / 7)
    return texts


def canonical(name: str, base: str) -> str:
    """`CodeSystem/card-topic` under the operator's canonical base, or in the urn:nerve-cds: namespace."""
    return f"{base.rstrip('/')}/{name}" if base else "urn:nerve-cds:" + name.replace("/", ":")
