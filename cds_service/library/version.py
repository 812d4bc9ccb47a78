"""Which card library a card came from: a content hash of the library folder, computed once at
load, with the analyst's own label (`library_version` in cards/settings.yaml) in front when given.

The hash covers every file under the folder (its path and its bytes), so any edit, even one the
label does not mention, gives another version; two copies of the same files give the same one.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

HASH_CHARS = 12  # of the sha256, in hex: enough to tell libraries apart, short enough to read


def content_hash(cards_dir: Path) -> str:
    """The sha256 of the folder's files (hidden files and caches left out), as HASH_CHARS hex digits."""
    digest = hashlib.sha256()
    root = Path(cards_dir)
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        relative = path.relative_to(root)
        if any(part.startswith(".") or part == "__pycache__" for part in relative.parts):
            continue
        digest.update(relative.as_posix().encode("utf-8") + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:HASH_CHARS]


def library_version(cards_dir: Path, label: str | None) -> str:
    """`<label>+<hash>`, or the hash alone without a label; what every issued card records."""
    digest = content_hash(cards_dir)
    return f"{label}+{digest}" if label else digest
