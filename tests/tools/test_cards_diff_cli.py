"""`nerve-cds cards diff` as a CI job runs it: the real command, its output and its exit status.

Signed-off expectations (fixtures/fhir/*/expected.yaml) come first, then cards gained or lost,
then wording-only changes; the exit status says which (0, 1, 3, 4; 2 when it cannot compare)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.paths import CARDS, ROOT

NERVE_CDS = [sys.executable, "-m", "cds_service"]


def run(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NERVE_CDS_")}
    env.update(COLUMNS="80", PYTHONPATH=str(ROOT))
    return subprocess.run(NERVE_CDS + list(args), env=env, capture_output=True, text=True, timeout=120)


def edited(tmp_path: Path, name: str, file: str, old: str, new: str) -> Path:
    cards = tmp_path / name
    shutil.copytree(CARDS, cards)
    path = cards / file
    text = path.read_text()
    assert text.count(old) >= 1, old
    path.write_text(text.replace(old, new, 1))
    return cards


@pytest.fixture(scope="module")
def nine_weeks(tmp_path_factory) -> Path:
    """The example in docs/analyst.md: MRI after 9 weeks of radicular symptoms instead of 6."""
    tmp = tmp_path_factory.mktemp("nine")
    cards = tmp / "cards"
    shutil.copytree(CARDS, cards)
    text = (cards / "settings.yaml").read_text()
    head, _, tail = text.partition("  imaging_after_days:\n")
    (cards / "settings.yaml").write_text(head + "  imaging_after_days:\n" + tail.replace("value: 42", "value: 63", 1))
    return cards


def test_a_threshold_that_breaks_signed_off_cards_says_so_first_and_exits_4(nine_weeks):
    result = run("cards", "diff", "--cards-dir", str(nine_weeks))
    assert result.returncode == 4, result.stdout + result.stderr
    out = result.stdout
    broken = out.index("Signed-off expectations broken")
    assert broken < out.index("Cards gained or lost:") < out.index("Wording only:")
    section = out[broken:out.index("Cards gained or lost:")]
    lines = [" ".join(line.split()) for line in section.splitlines()]
    assert "s02-persistent-radiculopathy-after-pt radiculopathy-imaging: expected info, got not fired" in lines
    assert "o11-indicated-mri-no-warning imaging-not-indicated: expected not fired, got warning" in lines
    assert "o03-ct-when-mri-is-indicated radiculopathy-imaging: expected info with actions update, got not fired" in lines
    assert any(line.startswith("BROKEN: 7 signed-off expectation(s) broken in 6 of ") for line in out.splitlines())
    assert "6 scenario(s) gain or lose a card" in out and "change wording only." in out


def test_json_gives_the_verdict_and_every_broken_expectation(nine_weeks):
    result = run("cards", "diff", "--cards-dir", str(nine_weeks), "--json")
    assert result.returncode == 4
    body = json.loads(result.stdout)
    assert body["verdict"] == "broken" and body["exit"] == 4
    assert {"case": "s14-cervical-radiculopathy-7-weeks", "topic": "radiculopathy-imaging",
            "expected": "info", "got": "not fired"} in body["broken"]
    kinds = {c["case"]: c["kind"] for c in body["changes"]}
    assert kinds["o11-indicated-mri-no-warning"] == "cards"
    assert "wording" in kinds.values()


def test_wording_only_exits_1(tmp_path):
    cards = edited(tmp_path, "cards", "rules/fasciculation.yaml", "address caffeine, sleep, stress and hydration",
                   "address caffeine, sleep, stress and fluids")
    result = run("cards", "diff", "--cards-dir", str(cards))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Signed-off" not in result.stdout and "Cards gained or lost:" not in result.stdout
    assert "Wording only:" in result.stdout and "0 scenario(s) gain or lose a card" in result.stdout


def test_cards_gained_or_lost_without_expectations_exits_3(tmp_path):
    cards = edited(tmp_path, "cards", "settings.yaml", "ces_recent_days:\n    value: 14", "ces_recent_days:\n    value: 1")
    folder = tmp_path / "requests"
    folder.mkdir()
    from cds_service.library.loader import load_library
    from tests.helpers.workbench import hook_request
    discovery = {"services": [s.discovery() for s in load_library(CARDS).services]}
    (folder / "s04.json").write_text(json.dumps(hook_request("s04-painless-saddle-and-bowel", discovery)[1]))
    result = run("cards", "diff", "--cards-dir", str(cards), "--requests", str(folder))
    assert result.returncode == 3, result.stdout + result.stderr
    assert "Signed-off" not in result.stdout and "s04\n  - critical cauda-equina-emergency" in result.stdout


def test_no_change_exits_0_and_a_broken_candidate_exits_2_in_one_line(tmp_path):
    same = run("cards", "diff", "--cards-dir", str(CARDS))
    assert same.returncode == 0 and "No scenario's cards change" in same.stdout
    bad = edited(tmp_path, "bad", "rules/cauda-equina.yaml", "topic: cauda-equina-emergency", "topic: cauda-equina-emergencyy")
    refused = run("cards", "diff", "--cards-dir", str(bad))
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1 and "unknown card topic 'cauda-equina-emergencyy'" in refused.stderr


def test_matrix_headers_are_distinct_and_named_in_full(nine_weeks):
    result = run("cards", "diff", "--cards-dir", str(nine_weeks), "--matrix")
    lines = result.stdout.splitlines()
    header = next(line for line in lines if line.startswith("case "))
    heads = header.split()[1:]
    assert len(heads) == len(set(heads)) >= 10
    legend = " ".join(line.strip() for line in lines[:lines.index(header)])
    for head in heads:
        assert f"{head} = " in legend
    assert "cee = cauda-equina-emergency" in legend and "cem = cervical-myelopathy" in legend
    row = next(line for line in lines if line.startswith("o11-indicated-mri-no-warning "))
    assert "·>warn" in row
