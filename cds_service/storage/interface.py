"""What the service keeps between calls, as an interface: feedback, cards issued, JWT ids seen.

The HTTP layer depends on these protocols and errors only, never on a database library, so a
store can be swapped (or a database outage told apart from bad input) without touching it.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable, Protocol, Sequence

from .analytics import Report
from .feedback import FeedbackItem


class StoreUnavailable(Exception):
    """The store cannot be reached or written now; the same call may succeed later."""


class Unstorable(ValueError):
    """A value no store can keep as given (e.g. text with NUL); the caller's input is at fault."""


@dataclass(frozen=True)
class IssuedCard:
    card_uuid: str
    service_id: str
    hook_instance: str
    topic: str | None
    issued_at: datetime


@dataclass(frozen=True)
class StoredFeedback:
    """One feedback item as kept, with the context of the card it is about (when we issued it)."""

    service_id: str
    card_uuid: str
    hook_instance: str | None
    topic: str | None
    outcome: str
    outcome_timestamp: datetime
    accepted_suggestions: tuple[str, ...]
    override_system: str | None
    override_code: str | None
    override_display: str | None
    user_comment: str | None
    received_at: datetime


class FeedbackStore(Protocol):
    def remember_cards(self, service_id: str, hook_instance: str, cards: Iterable[dict[str, Any]]) -> None:
        """Note cards just sent (in the background: advice must not wait). Unstorable for bad text."""

    def flush(self) -> None:
        """Wait until every card remembered so far has been written (or given up on)."""

    def save(self, service_id: str, items: Sequence[FeedbackItem]) -> int:
        """Store each item once; how many were new. Unstorable, or StoreUnavailable to retry."""

    def feedback_for(self, card_uuid: str) -> list[StoredFeedback]:
        """Feedback on one card, oldest first."""

    def issued_card(self, card_uuid: str) -> IssuedCard | None:
        """The card as issued, if it was recorded."""


class ReplayStore(Protocol):
    def claim(self, key: str, expires: float, now: float) -> bool:
        """Record `key` until `expires`; False if it is already held and not expired.
        StoreUnavailable when the store cannot answer."""


class Storage(Protocol):
    @property
    def feedback(self) -> FeedbackStore: ...

    @property
    def replay(self) -> ReplayStore: ...

    def ready(self) -> bool:
        """Reachable, with its schema at the current version."""

    def report(self, since: datetime | None = None) -> Report:
        """What clinicians did with the cards issued since `since`: per topic and per week."""


def check_text(field: str, value: object) -> None:
    """Text must be free of NUL: PostgreSQL refuses it and SQLite would keep it; refuse it on both."""
    if isinstance(value, str) and "\x00" in value:
        raise Unstorable(f"{field}: text must not contain NUL (\\u0000)")
