"""FHIR date and dateTime values read once into comparable instants, without regexes.

Findings compare evidence by time (H4 latest wins, H5 earliest onset), so every value becomes
an aware UTC datetime for ordering plus the calendar date as written, for display and durations.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Mapping, NamedTuple


class When(NamedTuple):
    instant: datetime  # aware, for ordering
    day: date  # the calendar date as written in the record


# Units an Age (onsetAge) may carry, in days: UCUM codes, then the human units EHRs send.
# Months and years are average lengths: an onset age is never more precise than that.
_AGE_UNIT_DAYS = {
    "a": 365.25, "mo": 30.4375, "wk": 7.0, "d": 1.0, "h": 1 / 24, "min": 1 / 1440,
    "yr": 365.25, "year": 365.25, "years": 365.25, "month": 30.4375, "months": 30.4375,
    "week": 7.0, "weeks": 7.0, "day": 1.0, "days": 1.0,
}


def parse(value: object) -> When | None:
    """'2024', '2024-05', '2024-05-06' or a full dateTime; None when absent or malformed."""
    if not isinstance(value, str) or len(value) < 4:
        return None
    try:
        if len(value) <= 10:
            year = int(value[0:4])
            month = int(value[5:7]) if len(value) >= 7 else 1
            day = int(value[8:10]) if len(value) >= 10 else 1
            written = date(year, month, day)
            return When(datetime(year, month, day, tzinfo=timezone.utc), written)
        stamp = datetime.fromisoformat(value)
    except ValueError:
        return None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=timezone.utc)
    return When(stamp, stamp.date())


def parse_period_start(period: object) -> When | None:
    """A Period's start, else its end (an open-started period still dates the event)."""
    if not isinstance(period, dict):
        return None
    return parse(period.get("start")) or parse(period.get("end"))


def effective(resource: Mapping) -> When | None:
    """Observation / DiagnosticReport effective[x], else `issued` (a lab may send only when it
    released the result: that still dates it, where nothing would make it the oldest)."""
    return (
        parse(resource.get("effectiveDateTime"))
        or parse(resource.get("effectiveInstant"))
        or parse_period_start(resource.get("effectivePeriod"))
        or parse(resource.get("issued"))
    )


def age_to_date(age: object, birth: When | None) -> When | None:
    """An Age quantity (e.g. onsetAge {value: 45, code: 'a'}) as a date, using the birth date."""
    if birth is None or not isinstance(age, dict):
        return None
    value = age.get("value")
    code, unit = age.get("code"), age.get("unit")
    per_unit = _AGE_UNIT_DAYS.get(code if isinstance(code, str) else "") or _AGE_UNIT_DAYS.get(
        unit if isinstance(unit, str) else "a"
    )
    if isinstance(value, bool) or not isinstance(value, (int, float)) or per_unit is None:
        return None
    try:
        instant = birth.instant + timedelta(days=value * per_unit)
    except (OverflowError, ValueError):
        return None
    return When(instant, instant.date())


def years_between(start: date, end: date) -> int:
    """Whole years from start to end (completed birthdays)."""
    years = end.year - start.year
    if (end.month, end.day) < (start.month, start.day):
        years -= 1
    return years
