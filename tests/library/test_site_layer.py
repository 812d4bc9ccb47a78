"""A site's own layer over the card library (NERVE_CDS_SITE_DIR, issue #21 item 6): its threshold
values and card wording are used by the real service, checked like the library (one line with
file and line per problem), and shown by explain, the workbench and `cards diff`. The CLI runs as
a process; the service and the pages through the real Flask app."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.apps import new_app
from tests.helpers.calls import CES, SERVICE, hook
from tests.helpers.workbench import dev_settings

ROOT = Path(__file__).resolve().parents[2]
SUMMARY = "Our pathway: call the on-call spinal surgeon now"


def nerve_cds(site: Path | str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200", "NERVE_CDS_SITE_DIR": str(site)}
    return subprocess.run([sys.executable, "-m", "cds_service", *args], env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture
def site(tmp_path) -> Path:
    folder = tmp_path / "site"
    folder.mkdir()
    (folder / "settings.yaml").write_text("thresholds:\n  ces_recent_days: 3\n")
    (folder / "texts.yaml").write_text(f"CES-1:\n  summary: \"{SUMMARY} (within {{ces_recent_days}} days)\"\n")
    return folder


def test_the_service_uses_the_site_wording(tmp_path, site):
    client = new_app(dev_settings(tmp_path, site_dir=site)).test_client()
    card = client.post(SERVICE, json=hook(prefetch=CES)).get_json()["cards"][0]
    assert card["summary"] == f"{SUMMARY} (within 3 days)"
    html = client.get("/workbench/explain/s03-classic-cauda-equina").get_data(as_text=True)
    assert 'id="site-layer"' in html and '<span class="site" data-setting="ces_recent_days">(site value; library 14)</span>' in html
    assert "site wording: summary" in html


def test_explain_and_validate_say_what_comes_from_the_site(site):
    out = nerve_cds(site, "explain", "s03-classic-cauda-equina", "--rule", "CES-1")
    assert out.returncode == 0, out.stderr
    assert "CES-1 [cauda-equina-emergency] FIRED [site text: summary]" in out.stdout
    assert "threshold ces_recent_days = 3 (site; library 14)" in out.stdout
    assert "setting ces_recent_days = 3 (library 14)" in out.stdout
    valid = nerve_cds(site, "cards", "validate")
    assert valid.returncode == 0 and "site layer: setting ces_recent_days: 14 -> 3" in valid.stdout


@pytest.mark.parametrize("name, text, expected", [
    ("settings.yaml", "thresholds:\n  ces_recent_days: 3\n  ces_recnt_days: 4\n",
     "settings.yaml:3: thresholds.ces_recnt_days: unknown setting"),
    ("settings.yaml", "thresholds:\n  ces_recent_days: soon\n", "settings.yaml:2: thresholds.ces_recent_days: must be a number"),
    ("texts.yaml", "CES-1:\n  summary: fine\nCES-99:\n  summary: nope\n", "texts.yaml:3: CES-99: unknown rule"),
    ("texts.yaml", "CES-2:\n  sumary: typo\n", "texts.yaml:1: CES-2: must map summary and/or detail"),
    ("texts.yaml", "CES-2:\n  detail: \"{trigers}\"\n", "texts.yaml:1: CES-2.detail: no value for placeholder {trigers}"),
])
def test_a_wrong_site_file_is_one_line_with_file_and_line(site, name, text, expected):
    (site / name).write_text(text)
    out = nerve_cds(site, "cards", "validate")
    assert out.returncode == 1 and "Traceback" not in out.stderr
    problem = out.stderr.splitlines()[0]
    assert problem.startswith(str(site / name)) and expected in problem


def test_a_site_dir_that_is_not_a_folder_is_one_line(tmp_path):
    out = nerve_cds(tmp_path / "nowhere", "cards", "validate")
    assert out.returncode == 2 and "NERVE_CDS_SITE_DIR" in out.stderr and "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def test_cards_diff_shows_the_site_layer(site):
    (site / "texts.yaml").write_text("")
    out = nerve_cds(site, "cards", "diff", "--cards-dir", str(ROOT / "cards"), "--site", str(site), "--json")
    body = json.loads(out.stdout)
    assert body["site"]["before"]["settings"]["ces_recent_days"] == {"library": 14.0, "site": 3.0}  # the configured layer
    assert body["site"]["after"]["settings"]["ces_recent_days"] == {"library": 14.0, "site": 3.0}
    assert body["changes"] == []  # the same layer on both sides: no scenario's cards differ ...
    # ... but the site's 3 days break signed-off expectations, which the analyst must see
    assert out.returncode == 4 and any(b["case"] == "s04-painless-saddle-and-bowel" for b in body["broken"])
