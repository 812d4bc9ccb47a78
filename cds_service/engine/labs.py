"""Lab results (potassium, magnesium, calcium) judged low against the lab's own limits (FAS-LAB).

Order of evidence, per docs/clinical-safety.md: the result's referenceRange.low (converted to the same
unit), else its interpretation (L/LL/LU), else the fallback limit in cards/findings.yaml. A lab
with `corrected_by` (total calcium by albumin) is re-judged on its corrected value.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import Callable, Mapping

from ..core import dates, fhirjson
from ..library.finding_defs import FindingDefs, LabDef
from ..library.terminology import Terminology


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
    label: str = ""
    reference_low: float | None = None  # the lab's own lower limit, canonical unit
    measured: float | None = None  # before correction, in `unit`; None if not corrected
    corrected_with: LabResult | None = None  # the result it was corrected with (albumin)


def _unit(quantity: dict) -> str | None:
    unit = fhirjson.text(quantity.get("code")) or fhirjson.text(quantity.get("unit"))
    return unit.strip() if unit else None


def reference_bound(part: dict, side: str, to_canonical: Callable[[float, str | None], float | None],
                    unit: str | None) -> float | None:
    """The first referenceRange `side` ("low" or "high") that has a value, in the canonical unit
    (its own unit, else the value's)."""
    for ref in fhirjson.items(part.get("referenceRange")):
        bound = fhirjson.mapping(ref.get(side))
        value = fhirjson.number(bound.get("value"))
        if value is not None:
            return to_canonical(value, _unit(bound) or unit)
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
    quantity = fhirjson.mapping(result.get("valueQuantity"))
    value = fhirjson.number(quantity.get("value"))
    if value is None:
        if fhirjson.bad_number(quantity.get("value")):
            notes.append(f"{reference}: {lab.name} value is beyond the range of numbers; ignored")
        return None
    unit = _unit(quantity)
    canonical = lab.to_canonical(value, unit)
    if canonical is None:
        notes.append(f"{reference}: unit '{unit}' for {lab.name} cannot be converted to {lab.unit}; ignored")
        return None
    interpretation: frozenset[str] = frozenset()
    for concept in fhirjson.items(result.get("interpretation")):
        interpretation |= terminology.concepts_in(fhirjson.codings(concept))
    critical = bool(interpretation & defs.interpretation_critical_low) or (
        lab.fallback_critical_low is not None and canonical < lab.fallback_critical_low
    )
    ref_low = reference_bound(result, "low", lab.to_canonical, unit)
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
        label=lab.label or lab.name,
        reference_low=ref_low,
    )


def corrected(labs: Mapping[str, LabResult], defs: FindingDefs) -> dict[str, LabResult]:
    """The latest result per lab, with each `corrected_by` lab re-judged on its corrected value."""
    out = dict(labs)
    for name, result in labs.items():
        rule = defs.labs[name].corrected_by
        other = labs.get(rule.lab) if rule else None
        if rule is None or other is None or result.when is None or other.when is None:
            continue
        if abs((result.when - other.when).days) > rule.max_days_apart:
            continue
        lab = defs.labs[name]
        value = result.value_canonical + rule.factor * (rule.reference - other.value_canonical)
        limit = result.reference_low if result.reference_low is not None else lab.fallback_low
        critical = lab.fallback_critical_low is not None and value < lab.fallback_critical_low
        per_unit = lab.to_canonical(1.0, result.unit) or 1.0
        out[name] = replace(result, value=round(value / per_unit, 2), value_canonical=value,
                            low=critical or (limit is not None and value < limit), critical_low=critical,
                            measured=result.value, corrected_with=other)
    return out
