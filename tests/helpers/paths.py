"""Where the repository's parts are, from any test file however deep it sits."""
from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
CARDS = ROOT / "cards"
FIXTURES = ROOT / "fixtures"
DOCS = ROOT / "docs"
EXAMPLES = ROOT / "examples"
# The SNOMED CT GPS list the library ships, where cards/coverage.yaml says it is.
GPS_FILE = CARDS / yaml.safe_load((CARDS / "coverage.yaml").read_text(encoding="utf-8"))["gps"]
