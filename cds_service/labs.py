"""Lab results (potassium, magnesium, calcium) judged low against the lab's own limits (FAS-LAB).

Order of evidence, per CLINICAL.md §1.5: the result's referenceRange.low (converted to the same
unit), else its interpretation (L/LL/LU), else the fallback limit in cards/findings.yaml.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from . import dates, fhirjson as fj
from .finding_defs import FindingDefs, LabDef
from .terminology import Terminology


@dataclass(frozen=True)
class LabResult:
    name: str
    value: float
    unit: str
    value_canonical: float
    low: bool
    critical_low: bool
    when: date | None
    reference: str
    display: str


def _unit(quantity: dict) -> str | None:
    return fj.text(quantity.get("code")) or fj.text(quantity.get("unit"))


def _reference_low(result: dict, lab: LabDef, unit: str | None) -> float | None:
    """The first referenceRange.low, in the canonical unit (its own unit, else the value's)."""
    for ref in fj.items(result.get("referenceRange")):
        low = fj.mapping(ref.get("low"))
        value = fj.number(low.get("value"))
        if value is not None:
            return lab.to_canonical(value, _unit(low) or unit)
    return None


def read_lab(
    result: dict,
    lab: LabDef,
    defs: FindingDefs,
    terminology: Terminology,
    reference: str,
    display: str,
    when: dates.When | None,
    notes: list[str],
) -> LabResult | None:
    """One quantity result (an Observation or one of its components) -> LabResult, or None."""
    quantity = fj.mapping(result.get("valueQuantity"))
    value = fj.number(quantity.get("value"))
    if value is None:
        if fj.bad_number(quantity.get("value")):
            notes.append(f"{reference}: {lab.name} value is beyond the range of numbers; ignored")
        return None
    unit = _unit(quantity)
    canonical = lab.to_canonical(value, unit)
    if canonical is None:
        notes.append(f"{reference}: unit '{unit}' for {lab.name} cannot be converted to {lab.unit}; ignored")
        return None
    interpretation: frozenset[str] = frozenset()
    for concept in fj.items(result.get("interpretation")):
        interpretation |= terminology.concepts_in(fj.codings(concept))
    critical = bool(interpretation & defs.interpretation_critical_low) or (
        lab.fallback_critical_low is not None and canonical < lab.fallback_critical_low
    )
    ref_low = _reference_low(result, lab, unit)
    if ref_low is not None:
        low = canonical < ref_low
    elif interpretation & (defs.interpretation_low | defs.interpretation_critical_low):
        low = True
    else:
        low = lab.fallback_low is not None and canonical < lab.fallback_low
    return LabResult(
        name=lab.name,
        value=value,
        unit=unit or lab.unit,
        value_canonical=canonical,
        low=low or critical,
        critical_low=critical,
        when=when.day if when else None,
        reference=reference,
        display=display,
    )
