"""Shadow mode's differences on SQLAlchemy: written by the shadow evaluator (web/shadow.py) in
the background, summarised per day and topic for the report, revealed with their patient and
encounter ids only together with an audit row per difference shown, and purged after the
retention period."""
from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta, timezone
from typing import TYPE_CHECKING, Callable, Sequence, TypeVar

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import SQLAlchemyError

from .interface import StoreUnavailable, check_text
from .shadow import DayTopic, Difference, ShadowCall, StoredDifference
from .sql_schema import shadow_difference as DIFF
from .sql_schema import shadow_view as VIEW

if TYPE_CHECKING:
    from .sql import SqlDatabase

T = TypeVar("T")


def _utc(when: datetime) -> datetime:
    return when.replace(tzinfo=timezone.utc) if when.tzinfo is None else when.astimezone(timezone.utc)


class SqlShadowStore:
    def __init__(self, database: SqlDatabase) -> None:
        self._db = database

    def record(self, calls: Sequence[ShadowCall]) -> None:
        for call in calls:
            for name in ("hook_instance", "patient_id", "encounter_id"):
                check_text(name, getattr(call, name))
            for d in call.differences:
                for name in ("live_summary", "candidate_summary", "live_suggestions", "candidate_suggestions"):
                    check_text(name, getattr(d, name))
        rows = [{"recorded_at": call.recorded_at, "service_id": call.service_id, "hook_instance": call.hook_instance,
                 "patient_id": call.patient_id, "encounter_id": call.encounter_id, "topic": d.topic, "change": d.change,
                 "live_indicator": d.live_indicator, "candidate_indicator": d.candidate_indicator,
                 "live_summary": d.live_summary, "candidate_summary": d.candidate_summary,
                 "live_suggestions": d.live_suggestions, "candidate_suggestions": d.candidate_suggestions,
                 "live_version": call.live_version, "candidate_version": call.candidate_version}
                for call in calls for d in call.differences]
        if rows:
            self._run(lambda: self._insert(rows))

    def _insert(self, rows: list[dict]) -> None:
        with self._db.begin() as conn:
            conn.execute(insert(DIFF), rows)

    def purge(self, before: datetime) -> int:
        def remove() -> int:
            with self._db.begin() as conn:
                return conn.execute(delete(DIFF).where(DIFF.c.recorded_at < before)).rowcount or 0
        return self._run(remove)

    def day_topics(self, since: datetime) -> list[DayTopic]:
        query = select(DIFF.c.recorded_at, DIFF.c.topic, DIFF.c.change, DIFF.c.hook_instance, DIFF.c.patient_id,
                       DIFF.c.candidate_version).where(DIFF.c.recorded_at >= since)
        found: dict[tuple[date, str], DayTopic] = {}
        calls: dict[tuple[date, str], set] = defaultdict(set)
        patients: dict[tuple[date, str], set] = defaultdict(set)

        def read() -> None:
            with self._db.begin() as conn:
                for when, topic, change, hook_instance, patient, version in conn.execute(query):
                    key = (_utc(when).date(), topic)
                    entry = found.setdefault(key, DayTopic(*key))
                    entry.changes[change] = entry.changes.get(change, 0) + 1
                    calls[key].add(hook_instance)
                    patients[key].add(patient)
                    if version not in entry.candidate_versions:
                        entry.candidate_versions.append(version)
        self._run(read)
        for key, entry in found.items():
            entry.calls, entry.patients = len(calls[key]), len(patients[key])
        return sorted(found.values(), key=lambda e: (-e.day.toordinal(), e.topic))

    def reveal(self, day: date, topic: str, viewer: str, now: datetime) -> list[StoredDifference]:
        """The hook calls of one day with a difference in this topic, each with all its differences
        (every topic: the live card a call lost beside the one it gained) and its patient and
        encounter ids, and an audit row (viewer, now, difference) for each, in one transaction:
        none is shown unaudited."""
        check_text("viewer", viewer)
        start = datetime.combine(day, time(), tzinfo=timezone.utc)
        that_day = (DIFF.c.recorded_at >= start, DIFF.c.recorded_at < start + timedelta(days=1))
        calls = select(DIFF.c.hook_instance).where(DIFF.c.topic == topic, *that_day)
        query = (select(DIFF).where(DIFF.c.hook_instance.in_(calls), *that_day)
                 .order_by(DIFF.c.recorded_at, DIFF.c.hook_instance, DIFF.c.id))

        def read() -> list[StoredDifference]:
            with self._db.begin() as conn:
                rows = list(conn.execute(query))
                if rows:
                    conn.execute(insert(VIEW), [{"viewed_at": now, "viewer": viewer, "difference_id": r.id} for r in rows])
                return [StoredDifference(r.id, _utc(r.recorded_at), r.service_id, r.hook_instance, r.patient_id,
                                         r.encounter_id, Difference(r.topic, r.change, r.live_indicator,
                                                                    r.candidate_indicator, r.live_summary,
                                                                    r.candidate_summary, r.live_suggestions,
                                                                    r.candidate_suggestions),
                                         r.live_version, r.candidate_version) for r in rows]
        return self._run(read)

    def _run(self, work: Callable[[], T]) -> T:
        try:
            return self._db.when_free(work)
        except SQLAlchemyError as exc:
            raise StoreUnavailable(exc.__class__.__name__) from None
