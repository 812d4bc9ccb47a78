"""A candidate card library for shadow-mode tests: a copy of the shipped cards with one threshold
changed, and the shadow rows a store kept, read straight from its tables."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

from sqlalchemy import create_engine, select

from cds_service.storage.sql_schema import shadow_difference, shadow_view
from tests.helpers.paths import CARDS

# With ces_recent_days at 3 instead of 14, s04's saddle and bowel symptoms are no longer recent:
# the candidate shows the urgent card where the live library shows the emergency one.
CHANGED_SCENARIO = "s04-painless-saddle-and-bowel"
UNCHANGED_SCENARIO = "s01-acute-lumbar-radiculopathy"


def candidate_library(folder: Path, ces_recent_days: int = 3) -> Path:
    """A copy of cards/ in `folder` with ces_recent_days changed; its path."""
    target = folder / "candidate-cards"
    shutil.copytree(CARDS, target)
    settings = target / "settings.yaml"
    text, n = re.subn(r"(ces_recent_days:\n    value: )14\b", rf"\g<1>{ces_recent_days}", settings.read_text())
    assert n == 1, "ces_recent_days not found in cards/settings.yaml"
    settings.write_text(text)
    return target


def shadow_rows(database_url: str) -> tuple[list, list]:
    """(differences, views) as stored, oldest first."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return (conn.execute(select(shadow_difference).order_by(shadow_difference.c.id)).all(),
                    conn.execute(select(shadow_view).order_by(shadow_view.c.id)).all())
    finally:
        engine.dispose()
