"""The card library the workbench shows, reloaded in dev mode when a file under cards/ changes.

An analyst edits YAML and refreshes the page. A bad edit is reported on the page (the
LibraryError, with its file and place) and nothing is advised until it is fixed; the hook
endpoints keep the library they started with. Outside dev mode the library never changes.
"""
from __future__ import annotations

import os
import threading
from pathlib import Path

from ..library.lines import with_lines
from ..library.loader import Library, LibraryError, load_library


def signature(directory: Path) -> tuple[tuple[str, int, int], ...]:
    """Every file under `directory` with its modification time (ns) and size: any edit,
    addition or removal changes it."""
    found = []
    for root, _, files in os.walk(directory):
        for name in files:
            path = os.path.join(root, name)
            try:
                stat = os.stat(path)
            except OSError:  # removed while we looked: the next look sees it gone
                continue
            found.append((path, stat.st_mtime_ns, stat.st_size))
    return tuple(sorted(found))


class LiveLibrary:
    def __init__(self, library: Library, reload: bool):
        self._library: Library | None = library
        self._error: str | None = None
        self._path = library.path
        self._canonical_base = library.canonical_base
        self._site = library.site.folder if library.site else None
        self._reload = reload
        self._seen = signature(self._path) if reload else ()
        self._lock = threading.Lock()

    def current(self) -> tuple[Library | None, str | None]:
        """The library to use, or None and the error that stops the edited one from loading."""
        if self._reload:
            with self._lock:
                now = signature(self._path)
                if now != self._seen:
                    self._seen = now
                    try:
                        self._library, self._error = load_library(self._path, self._canonical_base, self._site), None
                    except LibraryError as exc:  # every problem, on its line, as `cards validate` says them
                        self._library, self._error = None, "\n".join(with_lines(exc.problems, self._path))
        return self._library, self._error
