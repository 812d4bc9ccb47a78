"""The configuration table in docs/operations.md is where an operator looks up a variable: one row each."""
from __future__ import annotations

import re

from cds_service.core.settings import Settings
from tests.helpers.paths import ROOT


def configuration_table() -> list[str]:
    section = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8").split("## Configuration", 1)[1]
    table = section.split("| variable |", 1)[1]
    rows = table.split("\n\n", 1)[0].splitlines()
    return rows[2:]  # after the header's end and its separator line


def test_every_setting_has_a_row_in_one_unbroken_table():
    rows = configuration_table()
    assert all(row.startswith("| `NERVE_CDS_") for row in rows), rows
    named = {name for row in rows for name in re.findall(r"`(NERVE_CDS_[A-Z_]+)`", row.split(" | ")[0])}
    assert named == {"NERVE_CDS_" + field.upper() for field in Settings.model_fields}
