"""Codings no value set holds, counted per process and added to a shared table in the background."""
from __future__ import annotations

import logging
import os
import threading
import time
from collections import Counter
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Iterable

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from .interface import StoreUnavailable, UncoveredCode
from .sql_schema import uncovered_code

if TYPE_CHECKING:
    from .sql import SqlDatabase

log = logging.getLogger("nerve_cds.storage")


class SqlUncoveredStore:
    """Counts kept in memory (a dict update per call) and written every WRITE_EVERY_SECONDS by one
    thread per process, so a hook call never waits for the database; `flush` writes them now."""

    WRITE_EVERY_SECONDS = 30.0
    MAX_PENDING = 10_000  # distinct codes held between writes; more are dropped (and logged)

    def __init__(self, database: SqlDatabase) -> None:
        self._db = database
        self._pending: Counter[tuple[str, str]] = Counter()
        self._displays: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()
        self._writer_pid: int | None = None

    def note(self, codes: Iterable[UncoveredCode]) -> None:
        added = False
        with self._lock:
            for system, code, display in codes:
                key = (system[:256], code[:128])
                if "\x00" in "".join((*key, display)) or (key not in self._pending and len(self._pending) >= self.MAX_PENDING):
                    continue
                self._pending[key] += 1
                self._displays[key] = display[:256]
                added = True
        if added and self._writer_pid != os.getpid():
            with self._lock:
                if self._writer_pid != os.getpid():
                    threading.Thread(target=self._write_forever, name="uncovered-codes", daemon=True).start()
                    self._writer_pid = os.getpid()

    def flush(self) -> None:
        """Write what this process has counted so far; StoreUnavailable when the store is down (the
        counts are kept for the next try)."""
        with self._lock:
            pending, displays = self._pending, self._displays
            self._pending, self._displays = Counter(), {}
        if not pending:
            return
        try:
            self._write(pending, displays)
        except (StoreUnavailable, SQLAlchemyError) as exc:
            with self._lock:
                self._pending.update(pending)
                self._displays = {**displays, **self._displays}
            raise StoreUnavailable(exc.__class__.__name__) from None

    def counts(self, limit: int = 1000) -> list[tuple[str, str, str, int]]:
        """(system, code, display, calls) seen by every process, most seen first."""
        self.flush()
        try:
            with self._db.begin() as conn:
                rows = conn.execute(select(uncovered_code.c.system, uncovered_code.c.code, uncovered_code.c.display,
                                           uncovered_code.c.seen)
                                    .order_by(uncovered_code.c.seen.desc(), uncovered_code.c.system, uncovered_code.c.code)
                                    .limit(limit)).all()
        except SQLAlchemyError as exc:
            raise StoreUnavailable(exc.__class__.__name__) from None
        return [(r.system, r.code, r.display, r.seen) for r in rows]

    def _write(self, pending: Counter[tuple[str, str]], displays: dict[tuple[str, str], str]) -> None:
        now = datetime.now(timezone.utc)
        for attempt in range(2):  # another writer may insert the same code between our update and insert
            try:
                with self._db.begin() as conn:
                    for (system, code), seen in sorted(pending.items()):
                        where = (uncovered_code.c.system == system) & (uncovered_code.c.code == code)
                        done = conn.execute(update(uncovered_code).where(where).values(
                            seen=uncovered_code.c.seen + seen, display=displays[(system, code)], last_seen=now))
                        if done.rowcount == 0:
                            conn.execute(insert(uncovered_code).values(system=system, code=code, seen=seen,
                                                                       display=displays[(system, code)], last_seen=now))
                return
            except IntegrityError:
                if attempt:
                    raise

    def _write_forever(self) -> None:
        while True:
            time.sleep(self.WRITE_EVERY_SECONDS)
            try:
                self.flush()
            except StoreUnavailable as exc:
                log.warning("uncovered codes not written; kept for the next try", extra={"fields": {"error": str(exc)}})
