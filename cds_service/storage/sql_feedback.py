"""Feedback and issued cards on SQLAlchemy.

Cards issued are written by a background thread, in batches: a database round trip (and an
fsync) on every hook call would cost more than the advice itself. Feedback waits for pending
cards to be written first, so it finds the card it is about when it was recorded (the caller
has already checked the card's signed uuid, so a card whose row was lost is still taken).
A feedback request's items are stored in one transaction (one commit, one fsync), each in a
savepoint of its own: only a true duplicate counts as already stored, and any other refusal
rolls back that item alone and is reported (StoreRefused), never passed over. The writer gives way
to hook calls (Background.pace) and is started in the process that uses it, so under gunicorn each
worker has its own, made after gevent has patched threading (a lock taken before the patch and
held across a greenlet switch would freeze the worker).
"""
from __future__ import annotations

import logging
import os
import queue
import threading
import time
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Iterable, Sequence

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import DataError, IntegrityError, SQLAlchemyError

from .feedback import FeedbackItem
from .interface import Background, IssuedCall, StoreRefused, StoreUnavailable, WriteHealth, check_text
from .sql_schema import feedback, issued_card

if TYPE_CHECKING:
    from .sql import SqlDatabase

log = logging.getLogger("nerve_cds.feedback")

# card uuid, service, client, hookInstance, topic, issued at, library version, rule, user, patient key
Row = tuple[Any, str, str, str, Any, datetime, str, str | None, str | None, str | None]


class SqlFeedbackStore:
    PROBE_EVERY_SECONDS = 5.0

    def __init__(self, database: SqlDatabase, background: Background) -> None:
        self._db = database
        self._background = background
        self._pending: queue.Queue[list[Row]] = queue.Queue(maxsize=10_000)
        self._writer_pid: int | None = None
        self._hurry = False  # flushing: the writer stops giving way to hook calls
        self._failing = False  # the writer's state, so an outage is one log line, not one per batch
        self._last_write: WriteHealth | None = None
        self._probe = WriteHealth(True)
        self._probed_at = -1e9

    def remember_cards(self, service_id: str, client: str, hook_instance: str, cards: Iterable[dict[str, Any]],
                       library_version: str = "", call: IssuedCall | None = None) -> None:
        check_text("hookInstance", hook_instance)
        call = call or IssuedCall()
        check_text("userId", call.user)
        now = datetime.now(timezone.utc)
        rows = [(card.get("uuid"), service_id, client, hook_instance, card.get("source", {}).get("topic", {}).get("code"),
                 now, library_version, call.rules.get(str(card.get("uuid"))), call.user, call.patient) for card in cards]
        if not rows:
            return
        self._start_writer()
        try:
            self._pending.put_nowait(rows)
        except queue.Full:  # advice matters more than bookkeeping
            log.warning("issued-card queue full; cards not recorded", extra={"fields": {"cards": len(rows)}})

    def flush(self, timeout: float | None = None) -> bool:
        if self._writer_pid != os.getpid():
            return True
        ends = None if timeout is None else time.monotonic() + timeout
        self._hurry = True
        try:
            while self._pending.unfinished_tasks:
                if ends is not None and time.monotonic() >= ends:
                    return False
                time.sleep(0.01)  # cooperative under gevent: the writer runs meanwhile
            return True
        finally:
            self._hurry = False

    def write_health(self) -> WriteHealth:
        """The last real write's outcome, the database still in place, and a zero-row update every
        few seconds: it needs a write transaction, so a read-only database fails it before any
        card is lost; a full disk shows in the real writes."""
        try:
            self._db.check()
        except StoreUnavailable:
            return WriteHealth(False, StoreUnavailable.__name__)
        if time.monotonic() - self._probed_at >= self.PROBE_EVERY_SECONDS:
            self._probed_at = time.monotonic()
            try:
                with self._db.begin() as conn:
                    conn.execute(update(issued_card).where(issued_card.c.card_uuid.is_(None)).values(topic=issued_card.c.topic))
                self._probe = WriteHealth(True)
            except (StoreUnavailable, SQLAlchemyError) as exc:
                self._probe = WriteHealth(False, exc.__class__.__name__)
        if not self._probe.writable:
            return self._probe
        return self._last_write or self._probe

    def _start_writer(self) -> None:
        """One writer thread per process. The process is claimed before the thread starts, and
        no lock is held: under gevent, starting a thread switches greenlets."""
        if self._writer_pid == os.getpid():
            return
        self._writer_pid = os.getpid()
        threading.Thread(target=self._write_forever, name="issued-cards", daemon=True).start()

    def _write_forever(self) -> None:
        while True:
            batches = [self._pending.get()]
            if not self._hurry:
                self._background.pace()  # hook calls first; more rows gather meanwhile
            while len(batches) < 200:
                try:
                    batches.append(self._pending.get_nowait())
                except queue.Empty:
                    break
            try:
                self._write([row for batch in batches for row in batch])
            finally:
                for _ in batches:
                    self._pending.task_done()

    def _write(self, rows: list[Row]) -> None:
        """All rows in one transaction; if the database refuses one, each on its own, so one bad
        row costs only itself."""
        try:
            try:
                self._db.when_free(lambda: self._insert(rows))
            except (IntegrityError, DataError):
                refused: list[str] = []
                for row in rows:
                    try:
                        self._db.when_free(lambda: self._insert([row]))
                    except (IntegrityError, DataError) as exc:
                        refused.append(exc.__class__.__name__)
                if refused:
                    log.warning("issued cards refused by the database; the others were recorded",
                                extra={"fields": {"refused": len(refused), "error": refused[0]}})
        except (StoreUnavailable, SQLAlchemyError) as exc:
            self._written("issued-cards", exc)
            if not self._failing:
                reason = str(exc) if isinstance(exc, StoreUnavailable) else exc.__class__.__name__
                log.warning("cannot record issued cards: feedback database unavailable (%s)", reason,
                            extra={"fields": {"error": reason, "cards": len(rows)}})
            self._failing = True
            return
        self._written("issued-cards", None)
        if self._failing:
            log.info("recording issued cards again")
            self._failing = False

    def _written(self, operation: str, error: Exception | None) -> None:
        self._last_write = WriteHealth(error is None, error.__class__.__name__ if error else None)
        self._background.observe(operation, error is None)

    def _insert(self, rows: list[Row]) -> None:
        with self._db.begin() as conn:
            known = set(conn.scalars(select(issued_card.c.card_uuid).where(issued_card.c.card_uuid.in_([r[0] for r in rows]))))
            fresh = {}
            for card_uuid, service_id, client, hook_instance, topic, issued_at, version, rule, user, patient in rows:
                if card_uuid not in known and card_uuid not in fresh:
                    fresh[card_uuid] = {"card_uuid": card_uuid, "service_id": service_id, "client": client,
                                        "hook_instance": hook_instance, "topic": topic, "issued_at": issued_at,
                                        "library_version": version or None, "rule": rule, "user_id": user,
                                        "patient_key": patient}
            if fresh:
                conn.execute(insert(issued_card), list(fresh.values()))

    def save(self, service_id: str, client: str, items: Sequence[FeedbackItem]) -> int:
        for n, item in enumerate(items):
            _check_item(f"feedback.{n}", item)
        self.flush()
        now = datetime.now(timezone.utc)
        try:
            stored, refused = self._db.when_free(lambda: self._save_all(service_id, client, items, now))
        except StoreUnavailable as exc:
            self._written("feedback", exc)
            raise
        except SQLAlchemyError as exc:
            self._written("feedback", exc)
            raise StoreUnavailable(exc.__class__.__name__) from None
        self._written("feedback", None)
        if refused:
            log.error("feedback refused by the database", extra={"fields": {"refused": len(refused), "stored": stored}})
            raise StoreRefused("; ".join(refused), stored)
        return stored

    def _save_all(self, service_id: str, client: str, items: Sequence[FeedbackItem],
                  now: datetime) -> tuple[int, list[str]]:
        """Every item in one transaction, each in a savepoint; how many were stored, and the
        items the database refused for another reason than being there already."""
        stored, refused = 0, []
        with self._db.begin() as conn:
            _begin_now(conn)
            for n, item in enumerate(items):
                time.sleep(0)  # under gevent: let the worker's hook calls run between items
                try:
                    with conn.begin_nested():
                        stored += _insert_feedback(conn, service_id, client, item, now)
                except (IntegrityError, DataError) as exc:
                    if not _stored_already(conn, item):  # not the same feedback arriving concurrently
                        refused.append(f"feedback.{n}: the database refused it ({exc.__class__.__name__})")
        return stored, refused


def _begin_now(conn: Connection) -> None:
    """pysqlite opens its transaction only at the first INSERT, so a SAVEPOINT before it would be
    a transaction of its own, committed by its RELEASE: open the transaction now, so the items'
    savepoints are all inside it and the request commits once."""
    if conn.dialect.name == "sqlite" and not conn.connection.dbapi_connection.in_transaction:  # type: ignore[union-attr]
        conn.exec_driver_sql("BEGIN")


def _check_item(place: str, item: FeedbackItem) -> None:
    reason = item.overrideReason.reason if item.overrideReason else None
    check_text(f"{place}.card", item.card)
    for n, suggestion in enumerate(item.acceptedSuggestions or []):
        check_text(f"{place}.acceptedSuggestions.{n}.id", suggestion.id)
    if item.overrideReason:
        check_text(f"{place}.overrideReason.userComment", item.overrideReason.userComment)
    if reason:
        for name in ("system", "code", "display"):
            check_text(f"{place}.overrideReason.reason.{name}", getattr(reason, name))


def _stored_already(conn: Connection, item: FeedbackItem) -> bool:
    return conn.scalar(select(feedback.c.id).where(
        feedback.c.card_uuid == item.card, feedback.c.outcome == item.outcome,
        feedback.c.outcome_timestamp == item.timestamp())) is not None


def _insert_feedback(conn: Connection, service_id: str, client: str, item: FeedbackItem, now: datetime) -> int:
    """1 if stored, 0 if this card, outcome and instant were already there."""
    if _stored_already(conn, item):
        return 0
    issued = conn.execute(select(issued_card.c.hook_instance, issued_card.c.topic)
                          .where(issued_card.c.card_uuid == item.card)).first()
    reason = item.overrideReason.reason if item.overrideReason else None
    conn.execute(insert(feedback).values(
        service_id=service_id,
        card_uuid=item.card,
        client=client,
        hook_instance=issued.hook_instance if issued else None,
        topic=issued.topic if issued else None,
        outcome=item.outcome,
        outcome_timestamp=item.timestamp(),
        accepted_suggestions=[s.id for s in item.acceptedSuggestions or []],
        override_system=reason.system if reason else None,
        override_code=reason.code if reason else None,
        override_display=reason.display if reason else None,
        user_comment=item.overrideReason.userComment if item.overrideReason else None,
        received_at=now,
    ))
    return 1
