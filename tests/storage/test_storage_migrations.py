"""The schema is Alembic's: a new database is brought to the newest revision at start-up, a database
made by the pre-migration code (SQLAlchemy create_all) is taken over with its rows, and the tables
the code uses are exactly the ones the migrations make."""
from __future__ import annotations

import hashlib
import time
import uuid
from datetime import datetime, timedelta, timezone

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from click.testing import CliRunner
from sqlalchemy import create_engine, inspect, text

from cds_service.core.settings import Settings
from cds_service.storage.analytics import NO_CLIENT, NO_RULE, NO_USER
from cds_service.storage.sql import alembic_config
from cds_service.storage.sql_schema import metadata
from cds_service.storage.versions import NO_VERSION
from cds_service.tools.cli import main
from tests.helpers.apps import SERVING, new_app
from tests.helpers.calls import SERVICE, issue_card
from tests.helpers.stored import stored_card, stored_feedback
from tests.helpers.tokens import Issuer, bearer, write_trust_file

# What SQLAlchemy's create_all made before there were migrations, per database.
LEGACY_DDL = {
    "sqlite": ("INTEGER", "DATETIME", '"key"'),
    "postgresql": ("SERIAL", "TIMESTAMP WITH TIME ZONE", "key"),
}


def legacy_schema(dialect: str) -> list[str]:
    serial, stamp, key = LEGACY_DDL[dialect]
    return [
        f"""CREATE TABLE feedback (id {serial} NOT NULL, service_id VARCHAR(128) NOT NULL,
            card_uuid VARCHAR(64) NOT NULL, hook_instance VARCHAR(128), topic VARCHAR(64), outcome VARCHAR(16) NOT NULL,
            outcome_timestamp {stamp} NOT NULL, accepted_suggestions JSON NOT NULL, override_system VARCHAR(256),
            override_code VARCHAR(128), override_display VARCHAR(512), user_comment TEXT, received_at {stamp} NOT NULL,
            PRIMARY KEY (id), CONSTRAINT uq_feedback UNIQUE (card_uuid, outcome, outcome_timestamp))""",
        "CREATE INDEX ix_feedback_card_uuid ON feedback (card_uuid)",
        f"""CREATE TABLE issued_card (card_uuid VARCHAR(64) NOT NULL, service_id VARCHAR(128) NOT NULL,
            hook_instance VARCHAR(128) NOT NULL, topic VARCHAR(64), issued_at {stamp} NOT NULL, PRIMARY KEY (card_uuid))""",
        f"CREATE TABLE nerve_cds_jti_seen ({key} VARCHAR(64) NOT NULL, expires FLOAT NOT NULL, PRIMARY KEY ({key}))",
        "CREATE INDEX ix_nerve_cds_jti_seen_expires ON nerve_cds_jti_seen (expires)",
    ]


def revision_and_drift(url: str) -> tuple[str | None, list]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn)
            return context.get_current_revision(), compare_metadata(context, metadata)
    finally:
        engine.dispose()


def head() -> str:
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def test_a_new_database_is_at_the_newest_revision_with_exactly_the_tables_the_code_uses(database_url):  # noqa: F811
    app = new_app(Settings(dev=True, auth_enabled=False, database_url=database_url))
    assert app.test_client().get("/readyz").status_code == 200
    assert revision_and_drift(database_url) == (head(), [])


def test_db_upgrade_command_migrates_ahead_of_start_up(tmp_path):
    url = f"sqlite:///{tmp_path}/fb.db"
    result = CliRunner().invoke(main, ["db", "upgrade"], env={"NERVE_CDS_DATABASE_URL": url})
    assert result.exit_code == 0 and head() in result.output
    assert revision_and_drift(url) == (head(), [])


def test_a_database_from_before_migrations_keeps_its_feedback_cards_and_jti(database_url, tmp_path):  # noqa: F811
    dialect = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    ehr = Issuer("https://ehr.example.org")
    card, used_jti, now = str(uuid.uuid4()), str(uuid.uuid4()), time.time()
    engine = create_engine(database_url)
    with engine.begin() as conn:
        for statement in legacy_schema(dialect):
            conn.execute(text(statement))
        conn.execute(text("INSERT INTO issued_card VALUES (:c, 'nerve-cds-patient-view', 'h-old', 'cauda-equina-emergency', "
                          "'2026-11-01 09:00:00')"), {"c": card})
        conn.execute(text("INSERT INTO feedback (service_id, card_uuid, hook_instance, topic, outcome, outcome_timestamp, "
                          "accepted_suggestions, override_code, received_at) VALUES ('nerve-cds-patient-view', :c, 'h-old', "
                          "'cauda-equina-emergency', 'overridden', '2026-11-01 10:00:00', '[]', 'seen', '2026-11-01 10:00:01')"),
                     {"c": card})
        key = hashlib.sha256(f"{ehr.iss}\0{used_jti}".encode()).hexdigest()
        conn.execute(text("INSERT INTO nerve_cds_jti_seen VALUES (:k, :e)"), {"k": key, "e": now + 600})
    engine.dispose()

    app = new_app(Settings(**SERVING, database_url=database_url, trust_file=write_trust_file(tmp_path, {"issuer": ehr})))
    client = app.test_client()
    assert client.get("/readyz").status_code == 200
    assert revision_and_drift(database_url) == (head(), [])
    (old,) = stored_feedback(app, card)
    assert (old.hook_instance, old.topic, old.override_code) == ("h-old", "cauda-equina-emergency", "seen")
    assert stored_card(app, card).hook_instance == "h-old"
    replayed = ehr.token("http://localhost/cds-services", jti=used_jti)
    assert client.get("/cds-services", headers=bearer(replayed)).status_code == 401  # the jti table was kept
    item = {"card": card, "outcome": "overridden", "outcomeTimestamp": "2026-11-24T10:00:00Z"}
    path = SERVICE + "/feedback"
    # The old card's uuid is not signed, so it names no client: feedback on it is refused, its rows stay.
    refused = client.post(path, json={"feedback": [item]}, headers=bearer(ehr.token("http://localhost" + path)))
    assert refused.status_code == 400 and refused.get_json()["issue"][0]["code"] == "not-found"
    assert [f.hook_instance for f in stored_feedback(app, card)] == ["h-old"]
    report = app.extensions["nerve_cds.storage"].report()
    assert [(c.client, c.issued, c.overridden) for c in report.clients] == [(NO_CLIENT, 1, 1)]


def test_a_partial_pre_migration_database_gets_its_missing_table(tmp_path):
    """Without authentication the old code never made the jti table."""
    url = f"sqlite:///{tmp_path}/fb.db"
    engine = create_engine(url)
    with engine.begin() as conn:
        for statement in legacy_schema("sqlite"):
            if "nerve_cds_jti_seen" not in statement:
                conn.execute(text(statement))
    engine.dispose()
    assert new_app(Settings(dev=True, auth_enabled=False, database_url=url)).test_client().get("/readyz").status_code == 200
    assert revision_and_drift(url) == (head(), [])


def card_issued_at(database_url: str, revision: str) -> tuple[str, Config]:
    """A database migrated to `revision` holding one card issued a day ago: (its uuid, the alembic config)."""
    card = str(uuid.uuid4())
    config = alembic_config(database_url)
    engine = create_engine(database_url)
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)
        conn.execute(text("INSERT INTO issued_card (card_uuid, service_id, hook_instance, topic, issued_at, client) "
                          "VALUES (:c, 'nerve-cds-patient-view', 'h-old', 'cauda-equina-emergency', :t, 'https://ehr')"),
                     {"c": card, "t": datetime.now(timezone.utc) - timedelta(days=1)})
    engine.dispose()
    return card, config


def test_0004_keeps_the_cards_issued_before_and_adds_versions_and_shadow_tables(database_url):  # noqa: F811
    """A database at 0003 with cards in it: after 0004 they are kept and counted under no version,
    new cards carry the library's version, and the shadow tables are there (and go on downgrade)."""
    card, config = card_issued_at(database_url, "0003")

    app = new_app(Settings(dev=True, auth_enabled=False, database_url=database_url))
    client = app.test_client()
    assert client.get("/readyz").status_code == 200
    assert revision_and_drift(database_url) == (head(), [])
    assert stored_card(app, card).library_version is None
    _, issued = issue_card(client)
    library_version = app.extensions["nerve_cds.library"].version
    versions = app.extensions["nerve_cds.storage"].versions()  # waits for the card's row
    assert stored_card(app, issued["uuid"]).library_version == library_version
    assert [(v.version, v.total.issued) for v in versions] == [(NO_VERSION, 1), (library_version, 1)]

    engine = create_engine(database_url)
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0003")
        assert {"shadow_difference", "shadow_view"}.isdisjoint(inspect(conn).get_table_names())
        assert "library_version" not in {c["name"] for c in inspect(conn).get_columns("issued_card")}
        assert conn.scalar(text("SELECT count(*) FROM issued_card")) == 2
    engine.dispose()


def test_0005_keeps_earlier_cards_and_records_rule_user_and_a_patient_hash(database_url):  # noqa: F811
    """A database at 0004 with a card: after 0005 it is counted under no rule and no user, with no
    patient; a new card records its rule, the call's user and a keyed hash of its patient (never
    the id); downgrading drops the three columns and keeps the rows."""
    card, config = card_issued_at(database_url, "0004")

    app = new_app(Settings(dev=True, auth_enabled=False, database_url=database_url))
    client = app.test_client()
    assert client.get("/readyz").status_code == 200
    assert revision_and_drift(database_url) == (head(), [])
    _, issued = issue_card(client)
    report = app.extensions["nerve_cds.storage"].report()  # waits for the card's row
    new = stored_card(app, issued["uuid"])
    assert (new.rule, new.user_id) == ("CES-1", "Practitioner/dr-a")
    assert new.patient_key and "p-1" not in new.patient_key and len(new.patient_key) == 32
    assert [(r.rule, r.issued, r.patients) for r in report.rules] == [("CES-1", 1, 1), (NO_RULE, 1, 0)]
    assert [(u.user, u.issued) for u in report.users] == [(NO_USER, 1), ("Practitioner/dr-a", 1)]

    engine = create_engine(database_url)
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0004")
        assert {"rule", "user_id", "patient_key"}.isdisjoint(c["name"] for c in inspect(conn).get_columns("issued_card"))
        assert conn.scalar(text("SELECT count(*) FROM issued_card")) == 2
    engine.dispose()


def test_0006_keeps_earlier_shadow_differences_and_adds_their_suggestions(database_url):  # noqa: F811
    """A database at 0005 with a shadow difference: after 0006 it is still revealed, with no
    suggestions; downgrading drops the two columns and keeps the row."""
    from cds_service.storage import open_storage

    config = alembic_config(database_url)
    engine = create_engine(database_url)
    day = datetime.now(timezone.utc)
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0005")
        conn.execute(text("INSERT INTO shadow_difference (recorded_at, service_id, hook_instance, patient_id, topic, change, "
                          "candidate_indicator, candidate_summary, live_version, candidate_version) VALUES "
                          "(:t, 'nerve-cds-patient-view', 'h-old', 'p-old', 'cauda-equina-urgent', 'gained', 'warning', "
                          "'Urgent', 'live', 'cand')"), {"t": day})
    engine.dispose()
    store = open_storage(database_url).shadow
    assert revision_and_drift(database_url) == (head(), [])
    (old,) = store.reveal(day.date(), "cauda-equina-urgent", "dr-a", day)
    assert old.patient_id == "p-old" and old.difference.candidate_suggestions is None
    engine = create_engine(database_url)
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0005")
        assert "candidate_suggestions" not in {c["name"] for c in inspect(conn).get_columns("shadow_difference")}
        assert conn.scalar(text("SELECT count(*) FROM shadow_difference")) == 1
    engine.dispose()
