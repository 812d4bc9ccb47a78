"""The analyst's listing and report commands as a terminal runs them: the real `nerve-cds`
process in 80 columns, plain and JSON output, and a bad time window refused in one line."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cds_service.core.settings import Settings
from cds_service.data.scenarios import list_scenarios
from tests.helpers.paths import ROOT

NERVE_CDS = [sys.executable, "-m", "cds_service"]
SCENARIOS = list_scenarios(Settings().fixtures_dir)


def run(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NERVE_CDS_")}
    env.update(COLUMNS="80", LINES="24", PYTHONPATH=str(ROOT), NERVE_CDS_DATABASE_URL=f"sqlite:///{tmp_path}/fb.db")
    return subprocess.run(NERVE_CDS + args, env=env, capture_output=True, text=True, timeout=60)


def test_fixtures_list_keeps_every_id_whole_in_80_columns(tmp_path):
    result = run(["fixtures", "list"], tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert all(len(line) <= 80 for line in lines)
    words = {w for line in lines for w in line.split()}
    assert set(SCENARIOS) <= words  # each id appears whole, as one word
    at = lines.index("s03-classic-cauda-equina  patient-view")
    assert "cauda-equina-emergency (critical)" in " ".join(lines[at:at + 4])


def test_fixtures_list_plain_is_one_tab_separated_line_per_scenario(tmp_path):
    result = run(["fixtures", "list", "--plain"], tmp_path)
    assert result.returncode == 0
    rows = [line.split("\t") for line in result.stdout.splitlines()]
    assert [r[0] for r in rows] == SCENARIOS and {len(r) for r in rows} == {5}
    s03 = next(r for r in rows if r[0] == "s03-classic-cauda-equina")
    assert s03[1] == "patient-view" and s03[3] == "cauda-equina-emergency (critical)" and "cauda-equina-urgent" in s03[4]


def test_fixtures_list_json_carries_the_signed_off_expectations(tmp_path):
    result = run(["fixtures", "list", "--json"], tmp_path)
    body = json.loads(result.stdout)
    assert [s["id"] for s in body] == SCENARIOS
    o01 = next(s for s in body if s["id"] == "o01-mri-for-acute-back-pain")
    assert o01["hook"] == "order-select"
    assert o01["fire"] == [{"topic": "imaging-not-indicated", "indicator": "warning", "actions": ["delete", "create"]}]
    assert "duplicate-order" in o01["must_not_fire"]


@pytest.mark.parametrize("weeks", ["0", "-1", "521", "two", "1.5"])
def test_feedback_report_refuses_a_bad_window_in_one_line(tmp_path, weeks):
    result = run(["feedback", "report", "--weeks", weeks], tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines == [f"nerve-cds: --weeks: weeks must be a whole number from 1 to 520, not '{weeks}'"]


def test_feedback_report_takes_a_good_window(tmp_path):
    result = run(["feedback", "report", "--weeks", "520", "--json"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["topics"] == []
