"""The time window an analyst asks the feedback report for, checked the same way on the command
line and on the workbench page: a window that is not 1 to 520 whole weeks is refused with a
message, never quietly replaced by the default."""
from __future__ import annotations

DEFAULT_WEEKS = 12
MAX_WEEKS = 520


class WindowError(ValueError):
    """A window that is not a whole number of weeks from 1 to MAX_WEEKS."""


def weeks_window(value: str | None) -> int:
    """The number of weeks in `value` (DEFAULT_WEEKS when not given)."""
    if value is None or not value.strip():
        return DEFAULT_WEEKS
    text = value.strip()
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_WEEKS:
        shown = text if len(text) <= 20 else text[:20] + "..."
        raise WindowError(f"weeks must be a whole number from 1 to {MAX_WEEKS}, not '{shown}'")
    return int(text)
