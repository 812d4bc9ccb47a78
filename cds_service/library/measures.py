"""The `measurements` of cards/findings.yaml: vital signs and labs judged *raised* (§6.2 fever, CRP, ESR, WBC),
or below a limit (eGFR, for the renal remark).

Each measurement is a finding the rules can name like any other (`present: measured-fever`), but it
is recognised from a measured value, never from the code alone: a temperature Observation is not
fever, 38.6 Cel is. Its limits are named settings in cards/settings.yaml (design choices signed off
there), resolved here once at load. Units are UCUM codes (or unit text), compared case-insensitively;
`convert` says how a value in another unit becomes the canonical one: (value + offset) x factor,
so degrees Fahrenheit ([degF]) become Cel and mg/dL become mg/L.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

from .schema import LibraryError, read_yaml


@dataclass(frozen=True)
class Conversion:
    factor: float
    offset: float = 0.0


@dataclass(frozen=True)
class MeasureDef:
    """How one measured finding is recognised and judged raised."""

    name: str
    label: str
    codes: frozenset[str]  # value sets of the Observation (or component) code
    unit: str  # canonical unit
    conversions: Mapping[str, Conversion]  # lower-cased unit -> how to reach the canonical unit
    within_days: float  # a reading counts if dated this recently
    at_least: float | None = None  # raised when at or above this, whatever the lab's range (fever)
    above: float | None = None  # fallback: raised when above this, used without a range or a flag
    use_range: bool = False  # the lab's referenceRange.high and H/HH flag come first
    below: float | None = None  # present when below this, whatever the lab's range (eGFR)
    prefetch_key: str = "measurements"  # the generated Observation search that brings its codes
    settings: tuple[str, ...] = ()  # the settings it reads, for the sign-off document

    def to_canonical(self, value: float, unit: str | None) -> float | None:
        conversion = self.conversions.get((unit or self.unit).strip().lower())
        return None if conversion is None else (value + conversion.offset) * conversion.factor


def _setting(thresholds: Mapping[str, Any], name: str, place: str, where: str) -> float:
    if name not in thresholds:
        raise LibraryError(f"{where}: {place}: unknown setting '{name}' (cards/settings.yaml thresholds)")
    value = thresholds[name].get("value") if isinstance(thresholds[name], Mapping) else None
    if isinstance(value, bool) or not isinstance(value, (int, float)):  # read before the settings schema check
        raise LibraryError(f"cards/settings.yaml: thresholds.{name}.value: must be a number, not {value!r}")
    return float(value)


def _conversion(spec: Any) -> Conversion:
    if isinstance(spec, Mapping):
        return Conversion(float(spec["factor"]), float(spec.get("offset", 0.0)))
    return Conversion(float(spec))


def load_measures(entries: Mapping[str, Any], ids: Callable[[Any, str], frozenset[str]], settings_file: Path,
                  where: str) -> dict[str, MeasureDef]:
    """Each entry of `measurements` (shape checked by the findings schema), with its settings read
    from `settings_file`; `ids` resolves value-set ids, naming the place of an unknown one."""
    thresholds = read_yaml(settings_file, "cards/settings.yaml").get("thresholds", {}) if entries else {}
    measures = {}
    for name, entry in entries.items():
        if name == "interpretation":
            continue
        place = f"measurements.{name}"
        unit = entry["unit"]
        conversions = {unit.lower(): Conversion(1.0)}
        conversions |= {str(u).lower(): _conversion(spec) for u, spec in entry.get("convert", {}).items()}
        used = tuple(entry[k] for k in ("within", "at_least", "above", "below") if k in entry)
        limits = {k: _setting(thresholds, entry[k], f"{place}.{k}", where) for k in ("at_least", "above", "below") if k in entry}
        measures[str(name)] = MeasureDef(
            name=str(name),
            label=entry["label"],
            codes=ids(entry["codes"], f"{place}.codes"),
            unit=unit,
            conversions=conversions,
            within_days=_setting(thresholds, entry["within"], f"{place}.within", where),
            at_least=limits.get("at_least"),
            above=limits.get("above"),
            use_range=bool(entry.get("use_range", False)),
            below=limits.get("below"),
            prefetch_key=entry.get("prefetch_key", "measurements"),
            settings=used,
        )
    return measures
