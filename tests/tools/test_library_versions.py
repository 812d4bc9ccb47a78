"""Library versions as the analyst uses them: every issued card records the library it came from
(label + content hash), and `nerve-cds feedback report` (a real process) and /workbench/feedback
set a change's before and after side by side."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

from cds_service.core.settings import Settings
from cds_service.library.loader import LibraryError, load_library
from cds_service.library.version import content_hash
from tests.helpers.apps import new_app, shipped_library
from tests.helpers.calls import SERVICE, issue_card
from tests.helpers.paths import CARDS, ROOT
from tests.helpers.shadow import candidate_library

NERVE_CDS = [sys.executable, "-m", "cds_service"]


def relabel(folder, label: str) -> None:
    settings = folder / "settings.yaml"
    text = settings.read_text()
    assert 'library_version: "2026.12-1"' in text
    settings.write_text(text.replace('library_version: "2026.12-1"', f'library_version: "{label}"'))


def test_the_version_is_the_label_and_a_hash_of_every_file(tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(CARDS, copy)
    assert content_hash(copy) == content_hash(CARDS)  # the same files, wherever they are
    assert shipped_library().version == f"2026.12-1+{content_hash(CARDS)}"
    (copy / "valuesets" / "README.md").write_text((copy / "valuesets" / "README.md").read_text() + "\n")
    assert content_hash(copy) != content_hash(CARDS)  # any edit, label or not
    relabel(copy, "bad label!")
    try:
        load_library(copy)
    except LibraryError as exc:
        assert "library_version" in str(exc)
    else:
        raise AssertionError("a label with a space and '!' was accepted")


def test_the_feedback_report_compares_the_cards_before_and_after_a_change(tmp_path):
    url = f"sqlite:///{tmp_path}/fb.db"
    changed = candidate_library(tmp_path)
    relabel(changed, "2026.12-2-ces3")
    versions = []
    for cards_dir, outcome in ((CARDS, "accepted"), (changed, "overridden"), (changed, "overridden")):
        app = new_app(Settings(dev=True, auth_enabled=False, log_level="WARNING", database_url=url, cards_dir=cards_dir))
        client = app.test_client()
        _, card = issue_card(client)
        item = {"card": card["uuid"], "outcome": outcome, "outcomeTimestamp": "2026-12-05T10:00:00Z"}
        if outcome == "overridden":
            item["overrideReason"] = {"reason": card["overrideReasons"][0]}
        else:
            item["acceptedSuggestions"] = [{"id": card["suggestions"][0]["uuid"]}]
        assert client.post(SERVICE + "/feedback", json={"feedback": [item]}).status_code == 200
        versions.append(app.extensions["nerve_cds.library"].version)
    before, after = versions[0], versions[1]
    assert after.startswith("2026.12-2-ces3+") and before != after

    env = {k: v for k, v in os.environ.items() if not k.startswith("NERVE_CDS_")}
    env.update(PYTHONPATH=str(ROOT), NERVE_CDS_DATABASE_URL=url)
    result = subprocess.run(NERVE_CDS + ["feedback", "report", "--json"], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    rows = [(v["version"], v["issued"], v["accepted"], v["overridden"]) for v in json.loads(result.stdout)["versions"]]
    assert rows == [(before, 1, 1, 0), (after, 2, 0, 2)]
    text = subprocess.run(NERVE_CDS + ["feedback", "report"], env=env, capture_output=True, text=True, timeout=60).stdout
    lines = text.splitlines()
    at = next(n for n, line in enumerate(lines) if line.startswith("library version"))
    assert lines[at + 1].startswith(before) and "100%" in lines[at + 1]
    assert any(line.startswith(after) and " 0% " in line for line in lines[at + 1:])

    page = new_app(Settings(dev=True, auth_enabled=False, workbench_enabled=True, log_level="WARNING",
                            database_url=url)).test_client().get("/workbench/feedback").get_data(as_text=True)
    assert f'data-version="{before}"' in page and f'data-version="{after}"' in page
    assert page.index(f'data-version="{before}"') < page.index(f'data-version="{after}"')
