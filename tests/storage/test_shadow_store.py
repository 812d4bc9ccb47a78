"""Shadow differences on SQLite and PostgreSQL: kept for the retention period only (purged as new
ones are written and by `nerve-cds shadow purge`), summarised without ids, and revealed with an
audit row per difference shown."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from click.testing import CliRunner

from cds_service.core.settings import Settings
from cds_service.storage import open_storage
from cds_service.storage.shadow import Difference, ShadowCall, compare
from cds_service.tools.cli import main
from tests.helpers.apps import new_app
from tests.helpers.shadow import CHANGED_SCENARIO, candidate_library, shadow_rows
from tests.helpers.workbench import hook_request

NOW = datetime.now(timezone.utc)


def call(days_ago: float, patient: str = "p-old", topic: str = "cauda-equina-urgent") -> ShadowCall:
    return ShadowCall("nerve-cds-patient-view", f"h-{patient}", patient, "enc-1", "live", "candidate",
                      NOW - timedelta(days=days_ago), (Difference(topic, "gained", None, "warning", None, "urgent"),))


def test_compare_names_each_kind_of_change_per_topic():
    def card(topic, indicator, summary):
        return {"source": {"topic": {"code": topic}}, "indicator": indicator, "summary": summary}
    live = [card("a", "critical", "A"), card("b", "info", "B"), card("c", "info", "C"), card("same", "info", "S")]
    candidate = [card("b", "warning", "B"), card("c", "info", "C2"), card("d", "info", "D"), card("same", "info", "S")]
    assert [(d.topic, d.change) for d in compare(live, candidate)] == [
        ("a", "lost"), ("b", "indicator"), ("c", "wording"), ("d", "gained")]
    assert compare(live, live) == ()


def test_the_purge_command_deletes_only_differences_past_the_retention(database_url):
    store = open_storage(database_url).shadow
    for days_ago, patient in ((31, "p-expired"), (29, "p-kept"), (0, "p-today")):
        store.record([call(days_ago, patient)])
    result = CliRunner().invoke(main, ["shadow", "purge"], env={"NERVE_CDS_DATABASE_URL": database_url})
    assert result.exit_code == 0 and "OK: 1 shadow difference(s) older than 30 day(s) deleted" in result.output
    assert [r.patient_id for r in shadow_rows(database_url)[0]] == ["p-kept", "p-today"]
    result = CliRunner().invoke(main, ["shadow", "purge"], env={"NERVE_CDS_DATABASE_URL": database_url,
                                                                "NERVE_CDS_SHADOW_RETENTION_DAYS": "7"})
    assert "OK: 1 shadow difference(s) older than 7 day(s)" in result.output
    assert [r.patient_id for r in shadow_rows(database_url)[0]] == ["p-today"]


def test_writing_new_differences_purges_the_expired_ones(database_url, tmp_path):
    app = new_app(Settings(dev=True, auth_enabled=False, log_level="WARNING", database_url=database_url,
                           shadow_cards_dir=candidate_library(tmp_path), shadow_retention_days=10))
    storage = app.extensions["nerve_cds.storage"]
    storage.shadow.record([call(11, "p-expired")])
    storage.shadow.record([call(9, "p-kept")])
    client = app.test_client()
    service, body = hook_request(CHANGED_SCENARIO, client.get("/cds-services").get_json())
    assert client.post(f"/cds-services/{service}", json=body).status_code == 200
    assert app.extensions["nerve_cds.shadow"].flush(30)
    patients = [r.patient_id for r in shadow_rows(database_url)[0]]
    assert "p-expired" not in patients and patients[0] == "p-kept"
    assert patients[1:] == [body["context"]["patientId"]] * 2  # emergency lost, urgent gained


def test_the_summary_has_no_ids_and_each_revealed_difference_is_audited(database_url):
    store = open_storage(database_url).shadow
    store.record([call(0, "p-1")])
    store.record([call(0, "p-2")])
    store.record([call(0, "p-3", topic="cauda-equina-emergency")])
    (urgent, emergency) = sorted(store.day_topics(NOW - timedelta(days=1)), key=lambda r: r.topic, reverse=True)
    assert (urgent.topic, urgent.calls, urgent.patients, urgent.changes["gained"]) == ("cauda-equina-urgent", 2, 2, 2)
    assert not shadow_rows(database_url)[1]
    shown = store.reveal(NOW.date(), "cauda-equina-urgent", "dr-analyst", NOW)
    assert [s.patient_id for s in shown] == ["p-1", "p-2"]
    views = shadow_rows(database_url)[1]
    assert [(v.viewer, v.difference_id) for v in views] == [("dr-analyst", s.id) for s in shown]
    assert all(abs((v.viewed_at.replace(tzinfo=timezone.utc) - NOW).total_seconds()) < 1 for v in views)
