"""Shadow mode: a candidate card library answers every hook call beside the live one, and how its
cards differ is stored for the analyst (storage/shadow.py), never returned to the EHR.

The candidate runs after the live answer is built, never inside the call: the call hands its
inputs (the context and the FHIR data it gathered) to a queue and answers. One evaluator per
process takes them off the queue, waiting while hook calls are in flight (Load.pace, as the
issued-card writer does), runs the candidate's engine call by call, and stores the differences of
many calls in one transaction, written when the process is quiet. Under gevent the evaluator is a
greenlet and the engine does not yield, so a hook call that arrives during an evaluation waits
for that one evaluation, or that one write, at most (docs/operations.md gives the measured cost).
A full queue drops the candidate's evaluation, never the live answer. Patient and encounter ids
go to the store only, never to the log.
"""
from __future__ import annotations

import logging
import os
import queue
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Mapping, Sequence

from ..core.settings import Settings, SettingsError
from ..data.ownership import Owner
from ..data.record import PatientRecord
from ..engine.advise import advise
from ..library.loader import Library, LibraryError, load_library
from ..storage.interface import ShadowStore, StoreUnavailable, Unstorable
from ..storage.shadow import ShadowCall, compare
from .load import Load
from .metrics import observe_store

log = logging.getLogger("nerve_cds.shadow")

QUEUE_CALLS = 1000  # hook calls waiting for the candidate; past it the candidate skips calls
BATCH_CALLS = 20  # calls evaluated before their differences are written, at most
YIELD_SECONDS = 0.001  # after each evaluation, so the worker sees new connections
QUIET_SECONDS = 0.05  # no job and no hook call for this long: the differences are written
WRITE_AFTER_SECONDS = 2.0  # longest differences wait to be written while hook calls keep coming
PURGE_EVERY_SECONDS = 3600.0  # expired differences are deleted on write at most this often


@dataclass(frozen=True)
class ShadowJob:
    """What the live call used, handed over once its answer is built."""

    service_id: str
    hook_instance: str
    context: Mapping[str, Any]
    record: PatientRecord  # what the live call read: the candidate reads the same, not walked again
    now: datetime
    missing: frozenset[str]
    pama: bool
    card_id: Callable[[str], str]
    live_cards: Sequence[dict[str, Any]]
    owner: Owner | None = None  # the live call's one ownership decision (data/ownership.py)


class Shadow:
    def __init__(self, live: Library, candidate: Library, store: ShadowStore, load: Load, retention_days: int) -> None:
        self.live, self.candidate = live, candidate
        self._store = store
        self._load = load
        self._retention = timedelta(days=retention_days)
        self._pending: queue.Queue[ShadowJob] = queue.Queue(maxsize=QUEUE_CALLS)
        self._worker_pid: int | None = None
        self._purged_at = -1e9
        self._warned = False

    def submit(self, job: ShadowJob) -> None:
        """Queue the candidate's evaluation of a call whose live answer is ready; never waits."""
        if self._worker_pid != os.getpid():  # one evaluator per process, made in the process that serves
            self._worker_pid = os.getpid()
            threading.Thread(target=self._work_forever, name="shadow", daemon=True).start()
        try:
            self._pending.put_nowait(job)
        except queue.Full:
            if not self._warned:
                log.warning("shadow queue full; the candidate library skips hook calls until it catches up")
                self._warned = True

    def flush(self, timeout: float) -> bool:
        """Wait (at most `timeout` s) until every queued call has been evaluated."""
        ends = time.monotonic() + timeout
        while self._pending.unfinished_tasks:
            if time.monotonic() >= ends:
                return False
            time.sleep(0.01)
        return True

    def _work_forever(self) -> None:
        """Evaluate each queued call once hook calls leave room (Load.pace), letting the worker see
        new connections after each. The differences wait, and are written in one transaction, until no job
        and no hook call has come for QUIET_SECONDS, or for WRITE_AFTER_SECONDS or BATCH_CALLS at
        most: a commit blocks a gevent worker on SQLite, so it is kept out of bursts of calls."""
        done: list[ShadowCall] = []
        evaluated, since = 0, 0.0
        while True:
            try:
                job: ShadowJob | None = self._pending.get(timeout=QUIET_SECONDS if evaluated else None)
            except queue.Empty:
                job = None
            if job is not None:
                self._load.pace()
                call = self._evaluate(job)
                # A hook call that arrived during the evaluation goes first. A real sleep: under
                # gevent, sleep(0) runs ready greenlets but polls neither sockets nor timers.
                time.sleep(YIELD_SECONDS)
                if call is not None and call.differences:
                    done.append(call)
                evaluated, since = evaluated + 1, since or time.monotonic()
            overdue = evaluated >= BATCH_CALLS or time.monotonic() - since >= WRITE_AFTER_SECONDS
            if evaluated and (overdue or job is None and not self._load.calls):
                self._store_differences(done)
                for _ in range(evaluated):
                    self._pending.task_done()
                done, evaluated, since = [], 0, 0.0

    def _evaluate(self, job: ShadowJob) -> ShadowCall | None:
        """The candidate's answer to one call compared with the live one; None when the candidate
        has no such service or fails (logged by the error's kind only: its message may quote
        patient data). The candidate is on trial: its failure must not stop the evaluator."""
        service = self.candidate.service(job.service_id)
        if service is None:
            return None
        try:
            advice = advise(self.candidate, service, job.context, {}, job.now, pama=job.pama, missing=job.missing,
                            card_id=job.card_id, owner=job.owner, record=job.record)
        except Exception as exc:
            log.error("candidate library failed on a hook call", extra={"fields": {"error": exc.__class__.__name__}})
            return None
        return ShadowCall(job.service_id, job.hook_instance, _id(job.context, "patientId"), _id(job.context, "encounterId"),
                          self.live.version, self.candidate.version, datetime.now(timezone.utc),
                          compare(job.live_cards, advice.cards))

    def _store_differences(self, calls: list[ShadowCall]) -> None:
        """Store the differences and, at most every PURGE_EVERY_SECONDS, delete the expired ones."""
        try:
            if calls:
                self._store.record(calls)
            if time.monotonic() - self._purged_at >= PURGE_EVERY_SECONDS:
                self._purged_at = time.monotonic()
                self._store.purge(datetime.now(timezone.utc) - self._retention)
        except (StoreUnavailable, Unstorable) as exc:
            observe_store("shadow", False)
            log.warning("shadow differences not stored", extra={"fields": {"error": exc.__class__.__name__, "calls": len(calls)}})


def _id(context: Mapping[str, Any], key: str) -> str | None:
    value = context.get(key)
    return value if isinstance(value, str) else None


def load_candidate(settings: Settings) -> Library | None:
    """The candidate library NERVE_CDS_SHADOW_CARDS_DIR names, loaded and checked like the live one;
    None when shadow mode is off. SettingsError (one line naming the setting) when it does not load."""
    if settings.shadow_cards_dir is None:
        return None
    try:
        return load_library(settings.shadow_cards_dir, settings.canonical_base)
    except LibraryError as exc:
        raise SettingsError(f"NERVE_CDS_SHADOW_CARDS_DIR: the candidate card library does not load: {exc} "
                            f"(nerve-cds cards validate {settings.shadow_cards_dir} lists every problem)") from None
