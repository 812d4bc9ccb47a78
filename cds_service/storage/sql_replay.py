"""The JWT replay cache's shared part on SQLAlchemy (the in-process part is in auth.py)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import delete, insert
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from .interface import StoreUnavailable
from .sql_schema import jti_seen

if TYPE_CHECKING:
    from .sql import SqlDatabase


class SqlReplayStore:
    """jti keys in a shared table, so every worker and replica refuses a token another accepted.

    A call touches one key by its primary key; expired keys are cleared by their indexed expiry
    at most once a minute, so a call costs the same however many tokens are live."""

    PURGE_EVERY_SECONDS = 60.0

    def __init__(self, database: SqlDatabase) -> None:
        self._db = database
        self._next_purge = 0.0

    def claim(self, key: str, expires: float, now: float) -> bool:
        try:
            with self._db.begin() as conn:
                conn.execute(delete(jti_seen).where(jti_seen.c.key == key, jti_seen.c.expires <= now))
                conn.execute(insert(jti_seen).values(key=key, expires=expires))
        except IntegrityError:
            return False
        except SQLAlchemyError as exc:
            raise StoreUnavailable(exc.__class__.__name__) from None
        if now >= self._next_purge:
            self._next_purge = now + self.PURGE_EVERY_SECONDS
            try:
                with self._db.begin() as conn:
                    conn.execute(delete(jti_seen).where(jti_seen.c.expires <= now))
            except SQLAlchemyError:
                pass  # expired keys refuse nothing; the next purge takes them
        return True
