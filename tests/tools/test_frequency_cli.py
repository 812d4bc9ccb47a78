"""`nerve-cds cards frequency`: how often a route fires on the fixture scenarios and the Synthea
records, through the real command (CLINICAL §6.14 sign-off estimates)."""
from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.helpers.paths import ROOT


def frequency(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cds_service", "cards", "frequency", *args], cwd=ROOT, env=os.environ.copy(),
                          capture_output=True, text=True, timeout=300)


def test_routes_are_counted_per_scenario_and_synthea_record_with_a_category_narrowing_a_rule():
    done = frequency("CES-1", "CES-1@cord-context", "RF-1-HAEMATOMA", "--json")
    assert done.returncode == 0, done.stderr
    rows = {row["route"]: row for row in json.loads(done.stdout)}
    assert rows["RF-1-HAEMATOMA"]["scenarios"] == ["h01-apixaban-back-pain-new-weakness"]
    assert rows["RF-1-HAEMATOMA"]["synthea_total"] == 27 and rows["RF-1-HAEMATOMA"]["synthea"] == []
    everywhere, cord = set(rows["CES-1"]["scenarios"]), set(rows["CES-1@cord-context"]["scenarios"])
    assert "r20-retention-new-thoracic-pain" in cord and "s03-classic-cauda-equina" in everywhere - cord
    assert cord < everywhere


def test_an_unknown_rule_or_category_is_one_line_and_exit_2():
    for route, words in (("NO-SUCH-RULE", "no rule 'NO-SUCH-RULE'"), ("CES-1@no-such-category", "no finding has the category")):
        done = frequency(route)
        assert done.returncode == 2 and words in done.stderr
        assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
