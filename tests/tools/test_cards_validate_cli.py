"""`nerve-cds cards validate` as an analyst runs it: every problem of a library at once, each as
`<file>:<line>: <place>: <problem>` with the line the problem is on (the real command)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from cds_service.library.loader import LibraryError, load_library
from tests.helpers.paths import CARDS, ROOT

NERVE_CDS = [sys.executable, "-m", "cds_service"]


def validate(cards: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NERVE_CDS_")}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run(NERVE_CDS + ["cards", "validate", str(cards)], env=env, capture_output=True, text=True, timeout=60)


def edit(cards: Path, file: str, old: str, new: str) -> int:
    """Replace the first `old` in the file; the 1-based line the new text starts on."""
    path = cards / file
    text = path.read_text()
    at = text.index(old)
    path.write_text(text[:at] + new + text[at + len(old):])
    return text[:at].count("\n") + 1


def test_every_problem_is_reported_with_its_line(tmp_path):
    cards = tmp_path / "cards"
    shutil.copytree(CARDS, cards)
    topic = edit(cards, "rules/cauda-equina.yaml", "topic: cauda-equina-emergency", "topic: cauda-equina-emergencyy")
    finding = edit(cards, "rules/fasciculation.yaml", "- present: fasciculation\n", "- present: fasciculationn\n")
    source = edit(cards, "rules/conservative.yaml", "nice-ng59", "nice-ng95")
    display = edit(cards, "valuesets/albumin.json", '"status": "active"', '"status": "retired-ish"')
    result = validate(cards)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert f"cards/rules/cauda-equina.yaml:{topic}: rules[0].topic: unknown card topic 'cauda-equina-emergencyy'" in lines
    assert any(line.startswith(f"cards/rules/fasciculation.yaml:{finding}: rules[")
               and line.endswith("present: unknown finding 'fasciculationn'") for line in lines), lines
    assert any(line.startswith(f"cards/rules/conservative.yaml:{source}: rules[0].card.sources[")
               and "unknown source 'nice-ng95'" in line for line in lines), lines
    assert any(line.startswith(f"cards/valuesets/albumin.json:{display}: status: ") for line in lines), lines
    assert lines[-1] == f"INVALID: {len(lines) - 1} problem(s) in {cards}"


def test_all_schema_problems_of_one_file_and_start_up_still_says_one_line(tmp_path):
    cards = tmp_path / "cards"
    shutil.copytree(CARDS, cards)
    first = edit(cards, "settings.yaml", "ces_recent_days:\n    value: 14", "ces_recent_days:\n    value: soon")
    second = edit(cards, "settings.yaml", "unit: d\n    source: girft-ces-2023", "unit: d\n    source: girft-ces-2023\n    colour: red")
    lines = validate(cards).stderr.strip().splitlines()
    assert f"cards/settings.yaml:{first + 1}: thresholds.ces_recent_days.value: 'soon' is not of type 'number'" in lines
    assert any(line.startswith(f"cards/settings.yaml:{second + 2}: thresholds.ces_recent_days: unknown key 'colour'")
               for line in lines), lines
    try:
        load_library(cards)
    except LibraryError as exc:
        assert "\n" not in str(exc) and "more: nerve-cds cards validate lists them all" in str(exc)
        assert len(exc.problems) == 2
    else:
        raise AssertionError("the library loaded")


def test_a_yaml_syntax_error_names_its_line(tmp_path):
    cards = tmp_path / "cards"
    shutil.copytree(CARDS, cards)
    line = edit(cards, "rules/motor.yaml", "    topic:", "    topic: [")
    lines = validate(cards).stderr.strip().splitlines()
    assert any(line_.startswith("cards/rules/motor.yaml:") and "not valid YAML at line" in line_ for line_ in lines), lines
    reported = int(lines[0].split(":")[1])
    assert reported in (line, line + 1)


def test_a_good_library_is_ok():
    result = validate(CARDS)
    assert result.returncode == 0 and result.stdout.startswith("OK: ")


def test_a_measured_threshold_that_is_not_a_number_is_a_problem_not_a_traceback(tmp_path):
    """Found on the analyst walk (issue #21): a mistyped fever_temp_c, read by findings.yaml before
    the settings schema check, stopped validate (and cards diff) with a ValueError traceback."""
    cards = tmp_path / "cards"
    shutil.copytree(CARDS, cards)
    edit(cards, "settings.yaml", "value: 38.0", "value: 39.5.0")
    result = validate(cards)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "thresholds.fever_temp_c.value: must be a number, not '39.5.0'" in result.stdout + result.stderr
