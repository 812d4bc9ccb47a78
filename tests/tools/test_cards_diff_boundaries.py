"""Analyst walk M2 and m2 (issue #21): a threshold moved where no signed-off scenario sits gives
"wording only" or "no change", which reads as safe. `cards diff` warns, per changed setting, when
no scenario with an expected.yaml has a value between the old and the new threshold where the
library reads it; the warning is in the text, the JSON and the preview page, and leaves the exit
status alone. The CLI runs as a process, the page through the real Flask app."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.apps import new_app
from tests.helpers.paths import CARDS, ROOT
from tests.helpers.workbench import dev_settings


def run(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NERVE_CDS_")}
    env.update(COLUMNS="80", PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "cds_service", *args], env=env, capture_output=True, text=True, timeout=120)


def with_setting(folder: Path, name: str, old: str, new: str) -> Path:
    shutil.copytree(CARDS, folder)
    text = (folder / "settings.yaml").read_text()
    head, _, tail = text.partition(f"  {name}:\n")
    assert tail.startswith(f"    value: {old}\n"), name
    (folder / "settings.yaml").write_text(f"{head}  {name}:\n{tail.replace(f'value: {old}', f'value: {new}', 1)}")
    return folder


@pytest.fixture(scope="module")
def adult16(tmp_path_factory) -> Path:
    """The analyst's change: no fixture is 16 or 17, so nothing signed off can break."""
    return with_setting(tmp_path_factory.mktemp("a16") / "cards", "adult_min_age", "18", "16")


def test_a_threshold_no_signed_off_scenario_crosses_is_flagged_without_changing_the_exit(adult16):
    result = run("cards", "diff", "--cards-dir", str(adult16))
    assert result.returncode == 1, result.stdout + result.stderr  # wording only, as documented
    lines = result.stdout.splitlines()
    assert any(line.startswith("0 signed-off expectations broken (") for line in lines)
    (untested,) = [line for line in lines if line.startswith("UNTESTED")]
    assert untested.startswith("UNTESTED: setting adult_min_age 18 -> 16: no signed-off scenario exercises it")
    assert "between 16 and 18" in untested and "context orders.imaging_protected_below_age" in untested
    body = json.loads(run("cards", "diff", "--cards-dir", str(adult16), "--json").stdout)
    assert body["exit"] == 1 and [u["setting"] for u in body["untested"]] == ["adult_min_age"]
    assert body["untested"][0]["before"] == 18 and body["untested"][0]["after"] == 16


def test_a_threshold_a_signed_off_scenario_crosses_is_not_flagged(tmp_path):
    """Down to 7, p01 (age 7) crosses it: the expectations can break, and do."""
    result = run("cards", "diff", "--cards-dir", str(with_setting(tmp_path / "c", "adult_min_age", "18", "7")), "--json")
    body = json.loads(result.stdout)
    assert result.returncode == 4 and body["untested"] == []


def test_a_measured_findings_threshold_is_judged_by_the_finding(tmp_path):
    """fever_temp_c is read by findings.yaml, not by a rule condition: a small move no fixture
    temperature lies in is flagged; a move past a fixture's temperature is not."""
    small = json.loads(run("cards", "diff", "--json", "--cards-dir",
                           str(with_setting(tmp_path / "s", "fever_temp_c", "38.0", "38.1"))).stdout)
    assert [u["setting"] for u in small["untested"]] == ["fever_temp_c"] and small["exit"] == 0
    large = json.loads(run("cards", "diff", "--json", "--cards-dir",
                           str(with_setting(tmp_path / "l", "fever_temp_c", "38.0", "39.5"))).stdout)
    assert large["untested"] == []


def test_the_preview_page_shows_the_verdict_exit_status_and_the_untested_setting(tmp_path, adult16):
    client = new_app(dev_settings(tmp_path, workbench_libraries=(adult16.parent, CARDS))).test_client()
    html = client.get("/workbench/diff", query_string={"candidate": str(adult16)}).get_data(as_text=True)
    assert "0 signed-off expectations broken" in html
    assert 'id="exit-status"' in html and "Verdict <strong>wording</strong>" in html and "exits 1" in html
    assert '<li data-setting="adult_min_age">UNTESTED: setting adult_min_age 18 -&gt; 16' in html
