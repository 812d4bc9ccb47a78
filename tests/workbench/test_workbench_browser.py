"""The workbench in a real browser (headless Chromium from the distribution, driven by
Playwright) against the service running as a real HTTP server: a fixture's CES card and its
explanation (which records nothing), feedback sent through the real endpoint as an EHR sends it,
and the chart, the table and the CSV download that count it.

Screenshots of each view are written to docs/screenshots/ (docs/analyst.md shows them).
On a developer machine without /usr/bin/chromium these tests skip; under CI (CI set) they fail
instead, since .ci/run installs chromium.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
import requests

from cds_service.data.scenarios import load_scenario
from tests.helpers.fault_servers import Misbehaving, reply
from tests.helpers.paths import CARDS, DOCS, FIXTURES
from tests.helpers.shadow import CHANGED_SCENARIO, UNCHANGED_SCENARIO, candidate_library, shadow_rows
from tests.helpers.workbench import dev_settings, hook_request, live_server

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
# The guide's screenshots are refreshed only on request (NERVE_CDS_SCREENSHOTS=1), so a test run
# leaves the working tree clean; otherwise they go to a temporary folder and are still taken.
SHOTS = DOCS / "screenshots" if os.environ.get("NERVE_CDS_SCREENSHOTS") == "1" else Path(tempfile.mkdtemp())

if not CHROMIUM.exists() and not os.environ.get("CI"):
    pytest.skip("no /usr/bin/chromium on this machine (apt-get install chromium); CI fails instead of skipping",
                allow_module_level=True)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    assert CHROMIUM.exists(), "headless Chromium is required: apt-get install chromium"
    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            yield instance
        finally:
            instance.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        yield context.new_page()
    finally:
        context.close()


def some_history(base: str, discovery: dict) -> None:
    """Cards issued and answered over the past weeks, so the charts have something to show."""
    now = datetime.now(timezone.utc)
    for n, sid in enumerate(("s01-acute-lumbar-radiculopathy", "x04-ces2-stable-red-flag", "s14-cervical-radiculopathy-7-weeks")):
        service, body = hook_request(sid, discovery)
        for card in requests.post(f"{base}/cds-services/{service}", json=body, timeout=30).json()["cards"]:
            when = (now - timedelta(days=7 * n + 1)).strftime("%Y-%m-%dT%H:%M:%SZ")
            if card.get("suggestions") and n != 1:
                item = {"card": card["uuid"], "outcome": "accepted", "outcomeTimestamp": when,
                        "acceptedSuggestions": [{"id": card["suggestions"][0]["uuid"]}]}
            else:
                item = {"card": card["uuid"], "outcome": "overridden", "outcomeTimestamp": when,
                        "overrideReason": {"reason": card["overrideReasons"][-1]}}
            assert requests.post(f"{base}/cds-services/{service}/feedback", json={"feedback": [item]}, timeout=30).ok


def overridden_count(page, topic: str) -> int:
    bar = page.locator(f'#outcome-chart rect[data-topic="{topic}"][data-kind="overridden"]')
    return int(bar.get_attribute("data-count")) if bar.count() else 0


def test_explain_feedback_and_the_chart_in_a_browser(tmp_path, page):
    with live_server(dev_settings(tmp_path)) as base:
        discovery = requests.get(f"{base}/cds-services", timeout=10).json()
        some_history(base, discovery)
        service, body = hook_request("s03-classic-cauda-equina", discovery)
        cards = requests.post(f"{base}/cds-services/{service}", json=body, timeout=30).json()["cards"]
        assert [c["source"]["topic"]["code"] for c in cards] == ["cauda-equina-emergency"]

        page.goto(f"{base}/workbench/feedback")
        assert overridden_count(page, "cauda-equina-emergency") == 0
        page.screenshot(path=str(SHOTS / "feedback-before.png"), full_page=True)

        page.goto(f"{base}/workbench/explain/s03-classic-cauda-equina")
        card = page.locator(".card").first
        assert page.locator(".card").count() == 1 and card.is_visible()
        assert "critical" in card.get_attribute("class")
        assert "emergency MRI" in card.locator(".summary").inner_text()
        assert card.locator(".detail strong").first.inner_text() == "Refer immediately"
        why = page.locator('.why[data-rule="CES-1"]').first
        assert why.is_visible() and "fired" in why.locator(".outcome").inner_text()
        assert "Observation/s03-classic-cauda-equina-o4" in why.inner_text()
        page.screenshot(path=str(SHOTS / "explain.png"), full_page=False)

        assert page.locator("button.fb").count() == 0  # explaining records nothing in the feedback store
        assert "records nothing" in page.locator("#no-feedback-here").inner_text()

        reason = cards[0]["overrideReasons"][0]
        item = {"card": cards[0]["uuid"], "outcome": "overridden", "outcomeTimestamp": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "overrideReason": {"reason": {"system": reason["system"], "code": reason["code"]}, "userComment": "already imaged"}}
        assert requests.post(f"{base}/cds-services/{service}/feedback", json={"feedback": [item]}, timeout=30).ok

        page.goto(f"{base}/workbench/feedback")
        assert overridden_count(page, "cauda-equina-emergency") == 1
        row = page.locator('#feedback-table tr[data-topic="cauda-equina-emergency"]')
        assert row.locator("td.overridden").inner_text() == "1" and row.locator("td.issued").inner_text() == "1"
        assert row.locator("td.no-response").inner_text() == "0"
        why = page.locator('#why-table tr[data-topic="cauda-equina-emergency"]')
        assert f"{reason['display']} (1)" in why.inner_text() and "already imaged" in why.inner_text()
        link = page.locator("#csv-link")
        assert link.get_attribute("download") is not None
        exported = page.request.get(base + link.get_attribute("href")).text()
        assert f"override comment,cauda-equina-emergency,{reason['display']}: already imaged,1" in exported
        rule = page.locator('#rule-table tr[data-rule="CES-1"]')
        assert rule.is_visible() and rule.locator("td.overridden").inner_text() == "1"
        assert rule.locator("td.patients").inner_text() == "1" and "already imaged" in rule.inner_text()
        user_id = body["context"]["userId"]
        user = page.locator(f'#user-table tr[data-user="{user_id}"]')
        assert user.is_visible() and int(user.locator("td.overridden").inner_text()) >= 1
        page.screenshot(path=str(SHOTS / "feedback.png"), full_page=True)


def test_library_diff_in_a_browser(tmp_path, page):
    cards = tmp_path / "cards"
    shutil.copytree(CARDS, cards)
    text = (cards / "settings.yaml").read_text()
    head, _, tail = text.partition("  ces_recent_days:\n")
    (cards / "settings.yaml").write_text(head + "  ces_recent_days:\n" + tail.replace("value: 14", "value: 1", 1))
    with live_server(dev_settings(tmp_path, workbench_libraries=(tmp_path,))) as base:
        page.goto(f"{base}/workbench/diff")
        page.fill('input[name="candidate"]', str(cards))
        page.click('button[type="submit"]')
        page.locator("#verdict").wait_for()
        assert page.locator("#verdict").inner_text().startswith("BROKEN: ")
        broken = page.locator('#broken tr[data-case="s04-painless-saddle-and-bowel"][data-topic="cauda-equina-emergency"]')
        assert broken.is_visible() and broken.inner_text().split("\t")[2:] == ["critical", "not fired"]
        change = page.locator('.why[data-case="s04-painless-saddle-and-bowel"]')
        assert "loses cauda-equina-emergency" in change.inner_text() and "gains cauda-equina-urgent" in change.inner_text()
        assert page.locator("#matrix td.changed").count() > 0
        page.screenshot(path=str(SHOTS / "diff.png"), full_page=False)


def test_a_bad_library_edit_is_shown_in_the_browser(tmp_path, page):
    cards = tmp_path / "cards"
    shutil.copytree(CARDS, cards)
    with live_server(dev_settings(tmp_path, cards_dir=cards)) as base:
        page.goto(f"{base}/workbench/explain/s03-classic-cauda-equina")
        assert page.locator(".card.critical").count() == 1
        rules = cards / "rules" / "cauda-equina.yaml"
        rules.write_text(rules.read_text().replace("topic: cauda-equina-emergency", "topic: cauda-equina-emergencyy", 1))
        page.reload()
        error = page.locator("#library-error")
        assert error.is_visible() and "unknown card topic 'cauda-equina-emergencyy'" in error.inner_text()
        page.screenshot(path=str(SHOTS / "library-error.png"), full_page=False)


def test_the_paste_form_works_and_another_sites_form_is_refused(tmp_path, page):
    with live_server(dev_settings(tmp_path)) as base:
        discovery = requests.get(f"{base}/cds-services", timeout=10).json()
        _, body = hook_request("s03-classic-cauda-equina", discovery)
        page.goto(f"{base}/workbench/")
        page.fill('textarea[name="request"]', json.dumps(body))
        page.click('form[method="post"] button[type="submit"]')
        page.locator(".card").first.wait_for()  # the click starts the POST; the explained page comes after it
        assert page.locator(".card.critical").count() == 1  # the analyst's own form: its token goes with it

        forged = (f'<form id="f" method="post" action="{base}/workbench/explain">'
                  f'<input name="request" value=\'{json.dumps(body)}\'></form><script>f.submit()</script>').encode()
        with Misbehaving(reply(200, forged, "text/html")) as attacker:  # another site: localhost is not 127.0.0.1
            page.goto(f"http://localhost:{attacker.port}/")
            page.wait_for_url(f"{base}/workbench/explain")
        assert "Cross-site request refused" in page.locator("body").inner_text()


def test_shadow_mode_in_a_browser(tmp_path, page):
    """A candidate library with ces_recent_days at 3 beside the live one: real hook calls, then the
    page's day-topic table and, one click on, the patients and hooks behind a row (audited)."""
    settings = dev_settings(tmp_path, shadow_cards_dir=candidate_library(tmp_path))
    with live_server(settings) as base:
        discovery = requests.get(f"{base}/cds-services", timeout=10).json()
        for scenario in (CHANGED_SCENARIO, UNCHANGED_SCENARIO):
            service, body = hook_request(scenario, discovery)
            assert requests.post(f"{base}/cds-services/{service}", json=body, timeout=30).ok
        row = page.locator('#shadow-days tr[data-topic="cauda-equina-urgent"]')
        for _ in range(50):  # the candidate answers after the live answer, in the background
            page.goto(f"{base}/workbench/shadow")
            if row.count():
                break
            page.wait_for_timeout(200)
        assert page.locator("#shadow-on").is_visible()
        assert row.locator("td.gained").inner_text() == "1" and row.locator("td.patients").inner_text() == "1"
        lost = page.locator('#shadow-days tr[data-topic="cauda-equina-emergency"]')
        assert lost.locator("td.lost").inner_text() == "1"
        row.get_by_role("link").click()
        calls = page.locator("#shadow-calls tr[data-hook-instance]")
        calls.first.wait_for()
        patient = load_scenario(FIXTURES, CHANGED_SCENARIO, date.today()).request["context"]["patientId"]
        assert calls.count() == 1 and calls.first.get_attribute("data-patient") == patient
        assert "Possible cauda equina syndrome" in calls.first.inner_text()
        # one row per call, with everything it changed: the emergency card lost beside the urgent one gained
        changes = calls.first.locator("li[data-change]")
        assert [changes.nth(i).get_attribute("data-change") for i in range(changes.count())] == ["lost", "gained"]
        page.screenshot(path=str(SHOTS / "shadow.png"), full_page=False)
    views = shadow_rows(settings.database_url)[1]
    assert [v.viewer for v in views] == ["(dev mode, loopback 127.0.0.1)"] * 2
