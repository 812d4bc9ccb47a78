"""What `nerve-cds serve` adds to gunicorn's life cycle: a stopping worker lets its hook calls
finish (they end by their deadline) and then writes its queued rows, bounded in time, before it
exits; and the workers' metrics are shared through one folder the master makes and removes."""
from __future__ import annotations

import logging
import math
import os
import shutil
import tempfile
import threading
import time
from typing import Any

from flask import Flask

from ..core.settings import Settings
from .metrics import MULTIPROC_DIR

log = logging.getLogger("nerve_cds.serve")

FLUSH_SECONDS = 5.0  # longest a stopping worker spends writing queued rows


def graceful_seconds(settings: Settings) -> int:
    """gunicorn's graceful timeout: the calls in flight, then the flush, then a margin."""
    return math.ceil(settings.call_deadline + FLUSH_SECONDS + 2.0)


def drain(app: Flask) -> None:
    """Wait for this worker's hook calls in flight (at most one call deadline), then write the
    issued-card rows still queued (at most FLUSH_SECONDS)."""
    settings: Settings = app.config["NERVE_CDS_SETTINGS"]
    app.extensions["nerve_cds.load"].drain(settings.call_deadline)
    if not app.extensions["nerve_cds.feedback"].flush(FLUSH_SECONDS):
        log.warning("worker stopping with issued cards still unwritten after %g s", FLUSH_SECONDS)


def watch_for_stop(worker: Any) -> None:
    """gunicorn's post_worker_init hook: drain as soon as the worker is told to stop, rather than
    once every connection has closed (a slow client can hold one until the master's kill)."""
    def watch() -> None:
        while worker.alive:
            time.sleep(0.1)
        drain(worker.wsgi)

    threading.Thread(target=watch, name="drain-on-stop", daemon=True).start()


def share_metrics() -> str | None:
    """A fresh folder for the workers' metrics files, unless the operator named one; the folder
    made, to remove at exit."""
    if os.environ.get(MULTIPROC_DIR):
        return None
    folder = tempfile.mkdtemp(prefix="nerve-cds-metrics-")
    os.environ[MULTIPROC_DIR] = folder
    return folder


def remove_metrics(folder: str | None) -> None:
    if folder:
        shutil.rmtree(folder, ignore_errors=True)


def worker_gone(arbiter: Any, worker: Any) -> None:
    """gunicorn's child_exit hook: a dead worker's live gauges leave the sums."""
    if os.environ.get(MULTIPROC_DIR):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
