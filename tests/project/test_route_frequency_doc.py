"""CLINICAL §6.14: every new critical route carries, in the sign-off document, how often it fires on
the fixture scenarios and the shipped Synthea records. The table in docs/clinical-safety.md section
6 is recomputed here with the tool that made it; a new scenario or a changed rule that moves a count
fails until the row is brought up to date (`nerve-cds cards frequency <route>...`)."""
from __future__ import annotations

import re
from datetime import date

from cds_service.core.settings import Settings
from cds_service.tools.frequency import route_frequency
from tests.helpers.apps import shipped_library
from tests.helpers.paths import DOCS

# CLINICAL §6.14's list: cord compression with thoracic or cervical context, acute neuromuscular
# weakness, escalated infection, haematoma
CRITICAL_ROUTES = {"CES-1@cord-context", "ANW-1", "RF-1-INFECTION-NEURO", "RF-1-HAEMATOMA"}
ROW = re.compile(r"^\| [^|]+ \| `([^`]+)` \| (\d+) of (\d+)(?:: ([^|]*?))? \| (\d+) of (\d+)(?:: ([^|]*?))? \|$", re.MULTILINE)


def names(listed: str | None) -> tuple[str, ...]:
    return tuple(re.findall(r"`([^`]+)`", listed or ""))


def documented() -> dict[str, tuple]:
    text = (DOCS / "clinical-safety.md").read_text(encoding="utf-8")
    section = text[text.index("## 6. What the clinical lead must confirm"):text.index("\n## 7.")]
    return {m[0]: (int(m[1]), int(m[2]), names(m[3]), int(m[4]), int(m[5]), names(m[6])) for m in ROW.findall(section)}


def test_the_sign_off_table_lists_every_critical_route():
    assert set(documented()) == CRITICAL_ROUTES


def test_every_row_is_what_the_tool_computes_today():
    rows = documented()
    computed = route_frequency(shipped_library(), Settings().fixtures_dir, sorted(rows), date.today())
    wrong = []
    for f in computed:
        now = (len(f.scenarios), f.scenario_total, f.scenarios, len(f.synthea), f.synthea_total, f.synthea)
        if rows[f.route] != now:
            wrong.append(f"{f.route}: the document says {rows[f.route]}, the tool says {f.line()}")
    assert not wrong, "\n".join(wrong)
    assert any(f.scenarios for f in computed), "the count is not trivially zero"
