"""Feedback from clinicians on our cards: validated per CDS Hooks 2.0 and stored idempotently.

The same card, outcome and timestamp sent twice is one row, because the spec lets a client send
feedback more than once. Cards we issue are remembered (uuid -> hookInstance, topic) so that an
analyst can see which kind of card was overridden and why.
"""
from __future__ import annotations

import logging
import os
import queue
import re
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterable, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from sqlalchemy import JSON, DateTime, Integer, String, Text, UniqueConstraint, create_engine, select, text
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from . import jsonin
from .errors import BadRequest

log = logging.getLogger("nerve_cds.feedback")

# RFC 3339 section 5.6 date-time (the spec asks for UTC; offsets are accepted and normalised).
RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$", re.IGNORECASE
)


class _Coding(BaseModel):
    model_config = ConfigDict(extra="allow")
    # Bounds match the feedback table's columns: longer values are a 400, not a database error.
    system: str = Field(min_length=1, max_length=256)
    code: str = Field(min_length=1, max_length=128)
    display: str | None = Field(default=None, max_length=512)


class _OverrideReason(BaseModel):
    model_config = ConfigDict(extra="allow")
    reason: _Coding | None = None
    userComment: str | None = None


class _Accepted(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: str = Field(min_length=1)


class FeedbackItem(BaseModel):
    model_config = ConfigDict(extra="allow")

    card: str = Field(min_length=1, max_length=64)
    outcome: Literal["accepted", "overridden"]
    acceptedSuggestions: list[_Accepted] | None = None
    overrideReason: _OverrideReason | None = None
    outcomeTimestamp: str

    @model_validator(mode="after")
    def _rules(self) -> "FeedbackItem":
        if self.outcome == "accepted" and not self.acceptedSuggestions:
            raise ValueError("acceptedSuggestions is required when outcome is accepted")
        if not RFC3339.match(self.outcomeTimestamp):
            raise ValueError("outcomeTimestamp must be an RFC 3339 date-time, e.g. 2026-11-24T10:00:00Z")
        self.timestamp()  # a well-formed string can still be an impossible date
        return self

    def timestamp(self) -> datetime:
        try:
            parsed = datetime.fromisoformat(self.outcomeTimestamp.upper().replace("Z", "+00:00"))
            return parsed.astimezone(timezone.utc)
        except ValueError:
            raise ValueError("outcomeTimestamp is not a real date-time") from None
        except OverflowError:  # e.g. year 1 with a positive offset is before year 1 in UTC
            raise ValueError("outcomeTimestamp is outside the years 1-9999 in UTC") from None


class _Body(BaseModel):
    feedback: list[FeedbackItem] = Field(min_length=1)


def parse_feedback(body: bytes) -> list[FeedbackItem]:
    try:
        data = jsonin.loads(body)
    except jsonin.JsonError as exc:
        raise BadRequest(f"feedback body is {exc}") from None
    try:
        return _Body.model_validate(data).feedback
    except ValidationError as exc:
        parts = []
        for err in exc.errors(include_input=False, include_url=False):
            place = ".".join(str(p) for p in err["loc"])
            parts.append(f"{place}: {err['msg']}" if place else err["msg"])
        raise BadRequest("; ".join(parts)) from None


class _Base(DeclarativeBase):
    pass


class IssuedCard(_Base):
    """A card we sent, so feedback can be tied to its hook call and topic."""

    __tablename__ = "issued_card"
    card_uuid: Mapped[str] = mapped_column(String(64), primary_key=True)
    service_id: Mapped[str] = mapped_column(String(128))
    hook_instance: Mapped[str] = mapped_column(String(128))
    topic: Mapped[str | None] = mapped_column(String(64), nullable=True)
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Feedback(_Base):
    __tablename__ = "feedback"
    __table_args__ = (UniqueConstraint("card_uuid", "outcome", "outcome_timestamp", name="uq_feedback"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    service_id: Mapped[str] = mapped_column(String(128))
    card_uuid: Mapped[str] = mapped_column(String(64), index=True)
    hook_instance: Mapped[str | None] = mapped_column(String(128), nullable=True)
    topic: Mapped[str | None] = mapped_column(String(64), nullable=True)
    outcome: Mapped[str] = mapped_column(String(16))
    outcome_timestamp: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    accepted_suggestions: Mapped[list] = mapped_column(JSON, default=list)
    override_system: Mapped[str | None] = mapped_column(String(256), nullable=True)
    override_code: Mapped[str | None] = mapped_column(String(128), nullable=True)
    override_display: Mapped[str | None] = mapped_column(String(512), nullable=True)
    user_comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


@dataclass
class FeedbackStore:
    """SQLite file by default, PostgreSQL (or any SQLAlchemy URL) for a real deployment.

    Cards issued are written by a background thread, in batches: a database round trip (and an
    fsync) on every hook call would cost more than the advice itself. Feedback waits for pending
    cards to be written first, so it always finds the card it is about.
    """

    url: str

    def __post_init__(self) -> None:
        self.engine = create_engine(self.url, pool_pre_ping=True)
        self._ready = False
        self._pending: queue.Queue = queue.Queue(maxsize=10_000)
        self._writer_pid: int | None = None
        self._lock = threading.Lock()
        self.ping()  # a database that is down at start-up is reported by /readyz, not a crash

    def ping(self) -> bool:
        """Reachable, with our tables in place (created on first contact)."""
        try:
            if not self._ready:
                _Base.metadata.create_all(self.engine)
                self._ready = True
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return True
        except SQLAlchemyError:
            return False

    def remember_cards(self, service_id: str, hook_instance: str, cards: Iterable[dict[str, Any]]) -> None:
        now = datetime.now(timezone.utc)
        rows = [(card["uuid"], service_id, hook_instance, card.get("source", {}).get("topic", {}).get("code"), now)
                for card in cards]
        if not rows:
            return
        self._start_writer()
        try:
            self._pending.put_nowait(rows)
        except queue.Full:  # advice matters more than bookkeeping
            log.warning("issued-card queue full; cards not recorded", extra={"fields": {"cards": len(rows)}})

    def flush(self) -> None:
        """Wait until every card remembered so far is written."""
        if self._writer_pid == os.getpid():
            self._pending.join()

    def _start_writer(self) -> None:
        """One writer thread per process (gunicorn forks workers after the app is built)."""
        if self._writer_pid == os.getpid():
            return
        with self._lock:
            if self._writer_pid != os.getpid():
                threading.Thread(target=self._write_forever, name="issued-cards", daemon=True).start()
                self._writer_pid = os.getpid()

    def _write_forever(self) -> None:
        while True:
            batches = [self._pending.get()]
            while len(batches) < 200:
                try:
                    batches.append(self._pending.get_nowait())
                except queue.Empty:
                    break
            try:
                self._write([row for batch in batches for row in batch])
            except SQLAlchemyError as exc:
                log.warning("could not record issued cards", extra={"fields": {"error": exc.__class__.__name__}})
            finally:
                for _ in batches:
                    self._pending.task_done()

    def _write(self, rows: list[tuple]) -> None:
        if not self._ready and not self.ping():
            return
        with Session(self.engine) as session:
            known = set(session.scalars(select(IssuedCard.card_uuid).where(IssuedCard.card_uuid.in_([r[0] for r in rows]))))
            for card_uuid, service_id, hook_instance, topic, issued_at in rows:
                if card_uuid not in known:
                    known.add(card_uuid)
                    session.add(IssuedCard(card_uuid=card_uuid, service_id=service_id, hook_instance=hook_instance,
                                           topic=topic, issued_at=issued_at))
            session.commit()

    def save(self, service_id: str, items: Iterable[FeedbackItem]) -> int:
        """Store each item once; returns how many were new."""
        self.flush()
        stored = 0
        now = datetime.now(timezone.utc)
        for item in items:
            reason = item.overrideReason.reason if item.overrideReason else None
            with Session(self.engine) as session:
                issued = session.get(IssuedCard, item.card)
                when = item.timestamp()
                exists = session.scalar(
                    select(Feedback.id).where(
                        Feedback.card_uuid == item.card,
                        Feedback.outcome == item.outcome,
                        Feedback.outcome_timestamp == when,
                    )
                )
                if exists is not None:
                    continue
                session.add(Feedback(
                    service_id=service_id,
                    card_uuid=item.card,
                    hook_instance=issued.hook_instance if issued else None,
                    topic=issued.topic if issued else None,
                    outcome=item.outcome,
                    outcome_timestamp=when,
                    accepted_suggestions=[s.id for s in item.acceptedSuggestions or []],
                    override_system=reason.system if reason else None,
                    override_code=reason.code if reason else None,
                    override_display=reason.display if reason else None,
                    user_comment=item.overrideReason.userComment if item.overrideReason else None,
                    received_at=now,
                ))
                try:
                    session.commit()
                    stored += 1
                except IntegrityError:  # the same feedback arriving concurrently
                    session.rollback()
        return stored

    def rows(self) -> list[Feedback]:
        with Session(self.engine) as session:
            return list(session.scalars(select(Feedback).order_by(Feedback.id)))
