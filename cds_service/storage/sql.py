"""The storage interface on SQLAlchemy: one engine per database URL for feedback, issued cards and
the JWT replay cache; the schema is Alembic's (migrations/), brought to head on first contact.

SQLite (a file, the default) and PostgreSQL are the databases tested.
"""
from __future__ import annotations

import os
import threading
import time
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Iterator, TypeVar

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.util import CommandError
from sqlalchemy import Connection, create_engine, event, literal, select, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError, SQLAlchemyError

from .analytics import Report, Vocabulary
from .interface import Background, StorageUrlError, StoreUnavailable
from .sql_feedback import SqlFeedbackStore
from .sql_replay import SqlReplayStore
from .sql_report import build_report, build_versions
from .sql_schema import issued_card
from .sql_shadow import SqlShadowStore
from .sql_uncovered import SqlUncoveredStore
from .versions import VersionStats

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_SECONDS = 0.25
LOCKED_GIVE_UP_SECONDS = 5.0  # how long a write waits, in all, for a SQLite file another holds
T = TypeVar("T")
# Replicas starting together on one PostgreSQL take turns at migrating (any fixed 64-bit number).
_MIGRATION_LOCK = 0x6E65_7276_6563_6473


def alembic_config(url: str) -> Config:
    """Alembic pointed at the migrations shipped inside the package (no alembic.ini needed)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


class SqlDatabase:
    """One database URL: its engine, its schema version, and whether it is still there.

    A SQLite file removed while we run would otherwise go unnoticed: pooled connections keep
    writing to the deleted file. So the file is checked before each use, and a file replaced by
    another one (a restore) gets fresh connections and its schema brought to head."""

    RETRY_SECONDS = 5.0  # after failing to reach the database, before trying again

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = _engine(url)
        self._file = _sqlite_file(url)
        if self._file is not None:
            event.listen(self.engine, "connect", _write_ahead_log)
        self._identity: tuple[int, int] | None = None
        self._migrated = False
        self._retry_at = 0.0
        self._pid = os.getpid()
        self._lock = threading.Lock()

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """A transaction; StoreUnavailable if the database is gone. SQLAlchemy errors pass through."""
        self.check()
        with self.engine.begin() as conn:
            yield conn

    def check(self) -> None:
        """Usable now: same process's pool, file still in place, schema at head."""
        with self._lock:
            if self._pid != os.getpid():  # gunicorn forked us: never share the parent's connections
                self.engine.dispose(close=False)
                self._pid = os.getpid()
            if self._migrated and self._file is not None:
                try:
                    stat = self._file.stat()
                except OSError:
                    raise StoreUnavailable("the SQLite database file is missing") from None
                if (stat.st_dev, stat.st_ino) != self._identity:
                    self.engine.dispose()
                    self._migrated = False
            if not self._migrated:
                if time.monotonic() < self._retry_at:  # callers must not queue behind connect timeouts
                    raise StoreUnavailable("database unreachable")
                try:
                    self.upgrade()
                except SQLAlchemyError as exc:
                    self._retry_at = time.monotonic() + self.RETRY_SECONDS
                    raise StoreUnavailable(f"database unreachable ({exc.__class__.__name__})") from None
                if self._file is not None:
                    stat = self._file.stat()
                    self._identity = (stat.st_dev, stat.st_ino)
                self._migrated = True

    def upgrade(self) -> str | None:
        """Bring the schema to the newest migration (idempotent; serialised across replicas)."""
        with self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
            config = alembic_config(self.url)
            config.attributes["connection"] = conn
            try:
                command.upgrade(config, "head")
            except CommandError:  # e.g. a newer nerve-cds migrated this database already
                revision = MigrationContext.configure(conn).get_current_revision()
                raise StorageUrlError(f"the database schema is at revision '{revision}', which this version of "
                                      "nerve-cds does not know (was it migrated by a newer version?)") from None
            return MigrationContext.configure(conn).get_current_revision()

    def when_free(self, write: Callable[[], T]) -> T:
        """`write()`, again after short cooperative sleeps while another writer (the other worker,
        a backup) holds the SQLite file: SQLite's own wait sleeps in C, which would stop a whole
        gevent worker, so it is kept short (SQLITE_BUSY_SECONDS)."""
        gives_up = time.monotonic() + LOCKED_GIVE_UP_SECONDS
        while True:
            try:
                return write()
            except OperationalError as exc:
                if "locked" not in str(exc.orig) or time.monotonic() >= gives_up:
                    raise
            time.sleep(0.05)

    def ready(self) -> bool:
        try:
            with self.begin() as conn:
                conn.execute(select(literal(1)).select_from(issued_card).limit(1))
            return True
        except (StoreUnavailable, SQLAlchemyError):
            return False


def _sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL, also in URI form (sqlite:///file:path?mode=ro&uri=true); None
    for another database or an in-memory one."""
    parsed = make_url(url)
    database = parsed.database or ""
    if parsed.get_backend_name() != "sqlite" or database in ("", ":memory:"):
        return None
    if parsed.query.get("uri") == "true" and database.startswith("file:"):
        database = database[len("file:"):]
        if database in ("", ":memory:") or parsed.query.get("mode") == "memory":
            return None
    return Path(database)


def _engine(url: str) -> Engine:
    """The engine for a URL open_storage gave us (its scheme is plain letters and digits), or
    StorageUrlError naming what is wrong: SQLAlchemy's own messages quote the URL."""
    scheme = url.partition("://")[0]
    # SQLite waits for a lock by sleeping in C, which stops a whole gevent worker: a short wait,
    # and writes retry with cooperative sleeps (SqlDatabase.when_free).
    options = {"connect_args": {"timeout": SQLITE_BUSY_SECONDS}} if scheme.startswith("sqlite") else {}
    try:
        return create_engine(url, pool_pre_ping=True, **options)
    except NoSuchModuleError:
        raise StorageUrlError(f"unknown database driver in '{scheme}'") from None
    except ImportError as exc:
        raise StorageUrlError(f"the driver for '{scheme}' is not installed (no module {exc.name})") from None
    except (ArgumentError, ValueError):
        raise StorageUrlError(f"not a valid '{scheme}' URL (check the port, and %-escape special "
                              "characters in the user name and password)") from None


def _write_ahead_log(dbapi_connection: Any, _record: Any) -> None:
    """SQLite commits with one fsync instead of several, and readers never wait for the writer;
    synchronous stays FULL, so a commit is as durable as before."""
    dbapi_connection.execute("PRAGMA journal_mode=WAL")


class SqlStorage:
    """Feedback, issued cards, the replay cache, uncovered codes and shadow differences on one database, through one engine."""

    def __init__(self, url: str, background: Background | None = None) -> None:
        self.database = SqlDatabase(url)
        self.feedback = SqlFeedbackStore(self.database, background or Background())
        self.replay = SqlReplayStore(self.database)
        self.uncovered = SqlUncoveredStore(self.database)
        self.shadow = SqlShadowStore(self.database)
        self.ready()  # migrate now; a database down at start-up shows in /readyz, it is no crash

    def ready(self) -> bool:
        return self.database.ready()

    def report(self, since: datetime | None = None, client: str | None = None,
               vocabulary: Vocabulary | None = None) -> Report:
        self.feedback.flush()  # the cards this process has just issued are counted
        return build_report(self.database.engine, since, client, vocabulary)

    def versions(self, since: datetime | None = None, client: str | None = None,
                 vocabulary: Vocabulary | None = None) -> list[VersionStats]:
        self.feedback.flush()
        return build_versions(self.database.engine, since, client, vocabulary)

    def upgrade(self) -> str | None:
        return self.database.upgrade()
