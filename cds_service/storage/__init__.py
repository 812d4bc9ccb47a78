"""What the service remembers: clinicians' feedback, the cards it issued (for analytics) and the
JWT ids it has seen (replay protection). interface.py, with the values it takes and gives
(feedback.py, analytics.py), is all the rest of the service sees; sql*.py is the SQLAlchemy
implementation (one engine per database URL) with Alembic migrations. open_storage imports an
implementation only when called, so importing this package loads no database library. Imports
core only."""
from __future__ import annotations

import re
from typing import Callable

from .interface import Background, Storage, StorageUrlError


def _sql(url: str, background: Background) -> Storage:
    from .sql import SqlStorage

    return SqlStorage(url, background)


# A URL's scheme (before any "+driver") -> the store for it: the SQL store on the databases it is
# tested with. Another kind of store is a class implementing Storage and its scheme here.
OPENERS: dict[str, Callable[[str, Background], Storage]] = {"sqlite": _sql, "postgresql": _sql}
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9]*)(\+[A-Za-z0-9_]+)?://")


def open_storage(url: str, background: Background | None = None) -> Storage:
    """The storage for a URL, chosen by its scheme; the one way in from outside this package.
    StorageUrlError (a ConfigError: one line naming the setting) for a URL no store takes.
    `background` says how its background writes give way to the hosting process's hook calls."""
    scheme = _SCHEME.match(url)
    if scheme is None:
        raise StorageUrlError("not a database URL; expected e.g. sqlite:///nerve-cds-feedback.db "
                              "or postgresql://user:password@host/database")
    opener = OPENERS.get(scheme.group(1).lower())
    if opener is None:
        raise StorageUrlError(f"unknown database '{scheme.group(1)}' (known: {', '.join(sorted(OPENERS))})")
    return opener(url, background or Background())
