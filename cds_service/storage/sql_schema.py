"""The tables the SQL store uses, as SQLAlchemy sees them; migrations/ creates and changes them.

A test checks these definitions equal the schema at the newest migration.
"""
from __future__ import annotations

from sqlalchemy import JSON, Column, DateTime, Float, Index, Integer, MetaData, String, Table, Text, UniqueConstraint

metadata = MetaData()

issued_card = Table(
    "issued_card", metadata,
    Column("card_uuid", String(64), primary_key=True),
    Column("service_id", String(128), nullable=False),
    Column("hook_instance", String(128), nullable=False),
    Column("topic", String(64)),
    Column("issued_at", DateTime(timezone=True), nullable=False),
    Column("client", Text),  # the JWT iss the card went to; NULL for cards issued before 0002
    Column("library_version", String(80)),  # library/version.py; NULL for cards issued before 0004
    # 0005, NULL before: the rule that made the card (NULL too when it could not be told apart),
    # the hook call's context.userId, and a keyed hash of its patient (core.cardids), never the id
    Column("rule", String(64)),
    Column("user_id", Text),
    Column("patient_key", String(64)),
    Index("ix_issued_card_client", "client"),
)

feedback = Table(
    "feedback", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("service_id", String(128), nullable=False),
    Column("card_uuid", String(64), nullable=False),
    Column("hook_instance", String(128)),
    Column("topic", String(64)),
    Column("outcome", String(16), nullable=False),
    Column("outcome_timestamp", DateTime(timezone=True), nullable=False),
    Column("accepted_suggestions", JSON, nullable=False),
    Column("override_system", String(256)),
    Column("override_code", String(128)),
    Column("override_display", String(512)),
    Column("user_comment", Text),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("client", Text),  # the JWT iss that sent it; NULL for feedback stored before 0002
    UniqueConstraint("card_uuid", "outcome", "outcome_timestamp", name="uq_feedback"),
    Index("ix_feedback_card_uuid", "card_uuid"),
    Index("ix_feedback_client", "client"),
)

jti_seen = Table(
    "nerve_cds_jti_seen", metadata,
    Column("key", String(64), primary_key=True),  # sha256 of iss and jti: fixed size, no token text
    Column("expires", Float, nullable=False),
    Index("ix_nerve_cds_jti_seen_expires", "expires"),
)

uncovered_code = Table(
    "nerve_cds_uncovered_code", metadata,  # codings seen in records that no value set holds: codes only, never whose
    Column("system", String(256), primary_key=True),
    Column("code", String(128), primary_key=True),
    Column("display", String(256), nullable=False),
    Column("seen", Integer, nullable=False),  # how many hook calls carried it
    Column("last_seen", DateTime(timezone=True), nullable=False),
)

# Shadow mode (0004): one row per topic on which the candidate library answered a hook call
# differently from the live one. Names the patient and encounter for chart review, so rows are
# purged after NERVE_CDS_SHADOW_RETENTION_DAYS and read only through the workbench, audited.
shadow_difference = Table(
    "shadow_difference", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("service_id", String(128), nullable=False),
    Column("hook_instance", String(128), nullable=False),
    Column("patient_id", String(128)),
    Column("encounter_id", String(128)),
    Column("topic", String(64), nullable=False),
    Column("change", String(16), nullable=False),  # gained, lost, indicator, wording, suggestions
    Column("live_indicator", String(16)),
    Column("candidate_indicator", String(16)),
    Column("live_summary", Text),
    Column("candidate_summary", Text),
    Column("live_suggestions", Text),  # 0006, NULL before: "delete: Remove the draft order ..." one a line
    Column("candidate_suggestions", Text),
    Column("live_version", String(80), nullable=False),
    Column("candidate_version", String(80), nullable=False),
    Index("ix_shadow_difference_recorded_at", "recorded_at"),
)

# Who saw which shadow difference (its patient and encounter ids) in the workbench, and when.
shadow_view = Table(
    "shadow_view", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("viewed_at", DateTime(timezone=True), nullable=False),
    Column("viewer", String(256), nullable=False),
    Column("difference_id", Integer, nullable=False),  # shadow_difference.id; kept after the row is purged
    Index("ix_shadow_view_viewed_at", "viewed_at"),
)
