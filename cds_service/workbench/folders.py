"""The folders the workbench reads on an analyst's word: only those the operator listed.

The library preview takes a candidate card library and a request-file folder as paths typed into
a form. Without a limit the workbench would read any folder the service can (and say what it
found there), so a path is resolved first (every symlink and `..` followed; a relative path is
taken from the service's working folder) and the real folder must then be one of
NERVE_CDS_WORKBENCH_LIBRARIES or inside one.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

SETTING = "NERVE_CDS_WORKBENCH_LIBRARIES"


class FolderRefused(ValueError):
    """A path outside the folders the operator allowed, or no folder at all; the message says which are allowed."""


def allowed_folder(text: str, roots: Sequence[Path], what: str) -> Path:
    """The real folder `text` names, if it is inside one of `roots`; else FolderRefused.

    Missing and forbidden folders get the same answer, so the form cannot be used to find out
    what exists elsewhere on the server."""
    if not roots:
        raise FolderRefused(f"{what}: the workbench reads no folder on request until the operator sets {SETTING}")
    allowed = ", ".join(str(root) for root in roots)
    refused = FolderRefused(f"{what}: not a folder inside {SETTING} (allowed: {allowed} and the folders under them)")
    try:
        folder = Path(text).resolve(strict=True)
    except (OSError, RuntimeError, ValueError):  # missing, a symlink loop, a NUL byte, a name too long
        raise refused from None
    if not folder.is_dir():
        raise refused
    for root in roots:
        real_root = root.resolve()
        if folder == real_root or folder.is_relative_to(real_root):
            return folder
    raise refused
