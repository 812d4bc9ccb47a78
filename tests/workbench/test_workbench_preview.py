"""Preview a library change: matrix, gains and losses, and why, for fixtures or request files."""
from __future__ import annotations

import json
import shutil

import pytest
import yaml
from click.testing import CliRunner

from cds_service.library.loader import load_library
from cds_service.tools.cli import main
from cds_service.workbench.cases import fixture_cases, noon
from cds_service.workbench.preview import preview
from tests.helpers.apps import new_app, shipped_library
from tests.helpers.paths import CARDS, FIXTURES
from tests.helpers.workbench import dev_settings, hook_request


@pytest.fixture
def shorter_ces_window(tmp_path):
    """The shipped library with CES red flags counting as new for 1 day instead of 14."""
    cards = tmp_path / "cards"
    shutil.copytree(CARDS, cards)
    settings = yaml.safe_load((cards / "settings.yaml").read_text())
    assert settings["thresholds"]["ces_recent_days"]["value"] == 14
    text = (cards / "settings.yaml").read_text()
    head, _, tail = text.partition("  ces_recent_days:\n")
    (cards / "settings.yaml").write_text(head + "  ces_recent_days:\n" + tail.replace("value: 14", "value: 1", 1))
    assert load_library(cards).settings["ces_recent_days"] == 1
    return cards


def test_preview_names_gains_losses_and_the_condition_that_changed(shorter_ces_window):
    from datetime import date
    current, candidate = shipped_library(), load_library(shorter_ces_window)
    result = preview(current, candidate, fixture_cases(FIXTURES, date.today()), noon(date.today()))
    change = next(c for c in result.changes if c.case == "s04-painless-saddle-and-bowel")
    assert change.lost == ["cauda-equina-emergency"] and change.gained == ["cauda-equina-urgent"]
    assert result.before["s04-painless-saddle-and-bowel"]["cauda-equina-emergency"] == "critical"
    assert result.after["s04-painless-saddle-and-bowel"]["cauda-equina-urgent"] == "warning"
    why = change.why["cauda-equina-emergency"]
    assert why["before"] == [{"rule": "CES-1", "outcome": "fired", "indicator": "critical"}]
    assert why["after"] == [{"rule": "CES-1", "outcome": "not fired"}]
    window = next(c for c in why["conditions"] if c["condition"].startswith("onset_within(findings=saddle-sensory-loss"))
    assert window == {"condition": window["condition"], "before": True, "after": False,
                      "thresholds": "ces_recent_days=14 -> ces_recent_days=1"}
    assert change.why["cauda-equina-urgent"]["before"] == [{"rule": "CES-2", "outcome": "suppressed", "suppressedBy": "CES-1"}]
    # a scenario that does not change is in the matrix, not in the changes
    assert "s01-acute-lumbar-radiculopathy" in result.cases
    assert all(c.case != "s01-acute-lumbar-radiculopathy" for c in result.changes)


def test_cards_diff_cli_exits_4_and_explains(shorter_ces_window):
    runner = CliRunner()
    result = runner.invoke(main, ["cards", "diff", "--cards-dir", str(shorter_ces_window), "--matrix"], env={"COLUMNS": "250"})
    assert result.exit_code == 4, result.output  # s04's signed-off critical CES card is lost
    assert "s04-painless-saddle-and-bowel\n  - critical cauda-equina-emergency" in result.output
    assert "why cauda-equina-emergency: before CES-1 fired (critical); after CES-1 not fired" in result.output
    assert "crit>·" in result.output  # the matrix cell of a lost critical card
    assert "s04-painless-saddle-and-bowel" in result.output.split("Signed-off expectations broken")[1]
    as_json = json.loads(runner.invoke(main, ["cards", "diff", "--cards-dir", str(shorter_ces_window), "--json"]).output)
    assert "cauda-equina-emergency" in as_json["topics"]
    changed = {c["case"] for c in as_json["changes"]}
    assert "s04-painless-saddle-and-bowel" in changed and "s01-acute-lumbar-radiculopathy" not in changed
    same = runner.invoke(main, ["cards", "diff", "--cards-dir", str(CARDS)])
    assert same.exit_code == 0 and "No scenario's cards change." in same.output


def test_cards_diff_over_the_teams_request_files(tmp_path, shorter_ces_window):
    library = shipped_library()
    discovery = {"services": [s.discovery() for s in library.services]}
    folder = tmp_path / "requests"
    folder.mkdir()
    for sid in ("s04-painless-saddle-and-bowel", "s01-acute-lumbar-radiculopathy"):
        (folder / f"{sid}.json").write_text(json.dumps(hook_request(sid, discovery)[1]))
    result = CliRunner().invoke(main, ["cards", "diff", "--cards-dir", str(shorter_ces_window), "--requests", str(folder), "--json"])
    assert result.exit_code == 3, result.output  # request files carry no signed-off expectations
    body = json.loads(result.output)
    assert sorted(body["before"]) == ["s01-acute-lumbar-radiculopathy", "s04-painless-saddle-and-bowel"]
    assert [c["case"] for c in body["changes"]] == ["s04-painless-saddle-and-bowel"]
    empty = tmp_path / "empty"
    empty.mkdir()
    refused = CliRunner().invoke(main, ["cards", "diff", "--cards-dir", str(shorter_ces_window), "--requests", str(empty)])
    assert refused.exit_code == 2 and "no *.json request files" in refused.output


def test_cards_diff_over_patients_on_a_fhir_server(fhir_base_url, shorter_ces_window):
    runner = CliRunner()
    assert runner.invoke(main, ["fixtures", "load", "--fhir-server", fhir_base_url, "--prefix", "wbd-",
                                "s04-painless-saddle-and-bowel"]).exit_code == 0
    result = runner.invoke(main, ["cards", "diff", "--cards-dir", str(shorter_ces_window), "--fhir-server", fhir_base_url,
                                  "--patient", "wbd-s04-painless-saddle-and-bowel-patient", "--json"])
    assert result.exit_code == 3, result.output
    change = json.loads(result.output)["changes"][0]
    assert change["lost"] == ["cauda-equina-emergency"] and change["gained"] == ["cauda-equina-urgent"]


def test_preview_page_leads_with_the_broken_signed_off_expectations(tmp_path, shorter_ces_window):
    client = new_app(dev_settings(tmp_path, workbench_libraries=(tmp_path, CARDS))).test_client()
    reply = client.get("/workbench/diff", query_string={"candidate": str(shorter_ces_window)})
    assert reply.status_code == 200
    page = reply.get_data(as_text=True)
    assert page.index('id="broken"') < page.index('id="card-changes"') < page.index('id="matrix"')
    broken = page[page.index('id="broken"'):page.index("</section>", page.index('id="broken"'))]
    row = ('<tr data-case="s04-painless-saddle-and-bowel" data-topic="cauda-equina-emergency">'
           "<td>s04-painless-saddle-and-bowel</td><td>cauda-equina-emergency</td><td>critical</td><td>not fired</td></tr>")
    assert row in broken
    assert "must_not_fire" not in broken and 'data-topic="cauda-equina-urgent"' in broken  # s04 must not give CES-2
    assert "BROKEN: " in page[page.index('id="verdict"'):page.index('id="broken"')]
    same = client.get("/workbench/diff", query_string={"candidate": str(CARDS)}).get_data(as_text=True)
    assert 'id="broken"' not in same and "No scenario&#39;s cards change" in same


def test_a_bad_edit_shows_every_problem_on_its_line(tmp_path):
    from cds_service.web.app import create_app

    cards = tmp_path / "cards"
    shutil.copytree(CARDS, cards)
    client = create_app(dev_settings(tmp_path, cards_dir=cards)).test_client()
    assert client.get("/workbench/explain/s03-classic-cauda-equina").status_code == 200
    rules = cards / "rules" / "cauda-equina.yaml"
    text = rules.read_text()
    line = text[:text.index("topic: cauda-equina-emergency")].count("\n") + 1
    rules.write_text(text.replace("topic: cauda-equina-emergency", "topic: cauda-equina-emergencyy", 1))
    motor = cards / "rules" / "motor.yaml"
    motor.write_text(motor.read_text().replace("indicator: warning", "indicator: urgent", 1))
    page = client.get("/workbench/explain/s03-classic-cauda-equina").get_data(as_text=True)
    banner = page[page.index('id="library-error"'):]
    assert f"cards/rules/cauda-equina.yaml:{line}: rules[0].topic: unknown card topic &#39;cauda-equina-emergencyy&#39;" in banner
    assert "cards/rules/motor.yaml:" in banner and "&#39;urgent&#39; is not one of" in banner
