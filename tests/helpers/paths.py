"""Where the repository's parts are, from any test file however deep it sits."""
from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CARDS = ROOT / "cards"
FIXTURES = ROOT / "fixtures"
DOCS = ROOT / "docs"
EXAMPLES = ROOT / "examples"
