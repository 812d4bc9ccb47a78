"""What the service remembers: clinicians' feedback, the cards it issued (for analytics) and the
JWT ids it has seen (replay protection). interface.py is all the HTTP layer sees; sql*.py is the
SQLAlchemy implementation (one engine per database URL) with Alembic migrations. Imports core only."""
from __future__ import annotations

from .interface import Storage


def open_storage(url: str) -> Storage:
    """The storage for a database URL; the one way in from outside this package."""
    from .sql import SqlStorage

    return SqlStorage(url)


def upgrade_schema(url: str) -> str | None:
    """Apply every migration not yet applied; the revision the database is at afterwards (None: empty)."""
    from .sql import SqlDatabase

    database = SqlDatabase(url)
    try:
        return database.upgrade()
    finally:
        database.engine.dispose()
