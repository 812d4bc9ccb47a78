"""What the service keeps between calls, as an interface: feedback, cards issued, JWT ids seen.

The rest of the service depends on these protocols and errors, and on the plain values they take
and give (feedback.py's FeedbackItem, analytics.py's Report), never on a database library: a store
can be swapped (or a database outage told apart from bad input) without touching it. Importing
this module loads no database library (tests/project/test_architecture.py checks).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Callable, Iterable, Mapping, Protocol, Sequence

from ..core.config import ConfigError
from .analytics import Report, Vocabulary
from .feedback import FeedbackItem
from .shadow import DayTopic, ShadowCall, StoredDifference
from .versions import VersionStats


class StoreUnavailable(Exception):
    """The store cannot be reached or written now; the same call may succeed later."""


class Unstorable(ValueError):
    """A value no store can keep as given (e.g. text with NUL); the caller's input is at fault."""


class StoreRefused(Exception):
    """The store would not keep some items for a reason of its own (a constraint), neither an
    outage nor a duplicate: our fault, not the caller's. `stored`: how many others were new."""

    def __init__(self, message: str, stored: int) -> None:
        super().__init__(message)
        self.stored = stored


class StorageUrlError(ConfigError):
    """A database URL no store can use. The message names the setting and never quotes the URL,
    which may hold a password."""

    def __init__(self, problem: str) -> None:
        super().__init__(f"NERVE_CDS_DATABASE_URL: {problem}")


def _never_wait() -> None:
    return None


def _unobserved(operation: str, ok: bool) -> None:
    return None


@dataclass(frozen=True)
class Background:
    """How a store's background writing fits the process that hosts it. `pace` is called before
    each background write and may wait while hook calls are busy (advice comes first); `observe`
    hears the outcome of every write, ('issued-cards' or 'feedback', ok), e.g. for metrics."""

    pace: Callable[[], None] = _never_wait
    observe: Callable[[str, bool], None] = _unobserved


@dataclass(frozen=True)
class WriteHealth:
    """Whether the store can write now: the last write's outcome and a probe's. `error` names the
    error's class only (a message may quote the URL)."""

    writable: bool
    error: str | None = None


@dataclass(frozen=True)
class IssuedCall:
    """What analytics break issued cards down by, beyond the card: the rule that made each card
    (card uuid -> rule id; a card missing is one no single rule explains), the user of the call
    (context.userId) and a keyed hash of its patient (core.cardids), never the patient's id."""

    rules: Mapping[str, str] = field(default_factory=dict)
    user: str | None = None
    patient: str | None = None


class FeedbackStore(Protocol):
    def remember_cards(self, service_id: str, client: str, hook_instance: str, cards: Iterable[dict[str, Any]],
                       library_version: str = "", call: IssuedCall | None = None) -> None:
        """Note cards just sent to `client`, from the card library `library_version`, with what
        `call` says of them (in the background: advice must not wait). Unstorable for bad text."""

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every card remembered so far has been written (or given up on), at most
        `timeout` seconds; False if some were still waiting when it ran out."""

    def write_health(self) -> WriteHealth:
        """Can feedback and issued cards be written now (a probe at most every few seconds)?"""

    def save(self, service_id: str, client: str, items: Sequence[FeedbackItem]) -> int:
        """Store each item, from `client`, once (the spec lets a client send the same card, outcome
        and time again); how many were new. Unstorable, StoreUnavailable to retry, or StoreRefused
        when an item was neither stored nor already there. The caller has checked that each card
        was issued by this service to this client."""


class ShadowStore(Protocol):
    """Shadow mode's differences (storage/shadow.py). They name patients and encounters: read them
    only through `reveal`, which audits, and purge them after the retention period."""

    def record(self, calls: Sequence[ShadowCall]) -> None:
        """Store these hook calls' differences, in one transaction. StoreUnavailable, Unstorable."""

    def purge(self, before: datetime) -> int:
        """Delete the differences recorded before `before`; how many."""

    def day_topics(self, since: datetime) -> list[DayTopic]:
        """Per day and topic since `since`, newest day first: counts only, no ids."""

    def reveal(self, day: date, topic: str, viewer: str, now: datetime) -> list[StoredDifference]:
        """One day's and topic's differences with their ids, each recorded as viewed by `viewer` at `now`."""


class ReplayStore(Protocol):
    def claim(self, key: str, expires: float, now: float) -> bool:
        """Record `key` until `expires`; False if it is already held and not expired.
        StoreUnavailable when the store cannot answer."""


UncoveredCode = tuple[str, str, str]  # (system, code, display) of a coding no value set holds


class UncoveredStore(Protocol):
    def note(self, codes: Iterable[UncoveredCode]) -> None:
        """Count each code once more (one hook call); in the background: advice must not wait."""

    def flush(self) -> None:
        """Write what this process has counted; StoreUnavailable when the store is down."""

    def counts(self, limit: int = 1000) -> list[tuple[str, str, str, int]]:
        """(system, code, display, calls) over every process, most seen first; StoreUnavailable."""


class Storage(Protocol):
    @property
    def feedback(self) -> FeedbackStore: ...

    @property
    def replay(self) -> ReplayStore: ...

    @property
    def uncovered(self) -> UncoveredStore: ...

    @property
    def shadow(self) -> ShadowStore: ...

    def ready(self) -> bool:
        """Reachable, with its schema at the current version."""

    def report(self, since: datetime | None = None, client: str | None = None,
               vocabulary: Vocabulary | None = None) -> Report:
        """What clinicians did with the cards issued since `since`, card by card: per topic, week
        and hook, and per client; of one client's cards only when `client` is given. `vocabulary`
        gives the card library's words (suggestion labels, reason displays) for the stored ids."""

    def versions(self, since: datetime | None = None, client: str | None = None,
                 vocabulary: Vocabulary | None = None) -> list[VersionStats]:
        """The feedback report on the cards issued since `since`, per card library version, oldest
        first: the same counts and accepted share as report()'s topics, of each version's cards."""

    def upgrade(self) -> str | None:
        """Bring the store's schema to this version's now (`nerve-cds db upgrade`, ahead of a
        deploy; a store also does it on first contact); the schema version it is at afterwards,
        None for a store without one. Raises when it cannot: the store's own error, whose message
        may quote the URL, so callers show its class only."""


def check_text(field: str, value: object) -> None:
    """Text must be free of NUL: PostgreSQL refuses it and SQLite would keep it; refuse it on both."""
    if isinstance(value, str) and "\x00" in value:
        raise Unstorable(f"{field}: text must not contain NUL (\\u0000)")
