"""Every link between the README and docs/ leads somewhere: a relative link names a file of the
repository, and its #anchor a heading of that file (GitHub's slugs). Reference material moved
from the README into docs/ (issue #21), so a link left pointing at the old place fails here."""
from __future__ import annotations

import re
from pathlib import Path

from tests.helpers.paths import ROOT

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.M | re.S)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"`|\*|_(?=\W)|(?<=\W)_", "", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = FENCE.sub("", path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for heading in re.findall(r"^#+ (.+)$", text, re.M):
        base, n = slug(heading), 0
        while (base if n == 0 else f"{base}-{n}") in found:
            n += 1
        found.add(base if n == 0 else f"{base}-{n}")
    return found


def links(path: Path) -> list[str]:
    return [t for t in LINK.findall(FENCE.sub("", path.read_text(encoding="utf-8"))) if not re.match(r"[a-z]+:", t)]


def test_the_slug_is_githubs():
    assert slug("Long records: prefetch templates, limits and what happens when capped") == \
        "long-records-prefetch-templates-limits-and-what-happens-when-capped"
    assert slug("CORS (browser-based CDS clients)") == "cors-browser-based-cds-clients"
    assert slug("Shadow mode: a candidate library on real traffic") == "shadow-mode-a-candidate-library-on-real-traffic"


def test_every_relative_link_and_anchor_resolves():
    broken = []
    for doc in DOCS:
        for target in links(doc):
            file, _, anchor = target.partition("#")
            path = (doc.parent / file).resolve() if file else doc
            if not path.exists():
                broken.append(f"{doc.relative_to(ROOT)}: {target} (no such file)")
            elif anchor and path.suffix == ".md" and anchor not in anchors(path):
                broken.append(f"{doc.relative_to(ROOT)}: {target} (no such heading)")
    assert broken == []
