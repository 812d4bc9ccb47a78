"""SIGTERM drains: a stopping `nerve-cds serve` writes the issued-card rows its workers still have
queued (bounded in time) before they exit, instead of ending with os._exit and losing them. The
rows are held in the queue by a lock the test takes on the table, released after the SIGTERM."""
from __future__ import annotations

import signal
import sqlite3
import time

from sqlalchemy import create_engine, select, text

from cds_service.storage.sql_schema import issued_card
from tests.helpers.calls import CES, hook
from tests.helpers.serving import fire, served

CALLS = 24


class TableLock:
    """The issued-card table locked against writers from outside the service, until released."""

    def __init__(self, url: str):
        self.url = url
        if url.startswith("sqlite"):
            self.sqlite = sqlite3.connect(url.split("///", 1)[1], isolation_level=None)
            self.sqlite.execute("BEGIN EXCLUSIVE")
        else:
            self.engine = create_engine(url)
            self.conn = self.engine.connect()
            self.transaction = self.conn.begin()
            self.conn.execute(text("LOCK TABLE issued_card IN EXCLUSIVE MODE"))

    def release(self) -> None:
        if self.url.startswith("sqlite"):
            self.sqlite.execute("COMMIT")
            self.sqlite.close()
        else:
            self.transaction.commit()
            self.conn.close()
            self.engine.dispose()


def test_sigterm_writes_the_queued_issued_cards_before_the_workers_exit(tmp_path, database_url):
    with served(tmp_path, workers=2, NERVE_CDS_DATABASE_URL=database_url) as server:
        lock = TableLock(database_url)
        try:
            answers = fire(server.base, [hook(prefetch=CES) for _ in range(CALLS)], timeout=15)
            assert [a.status for a in answers] == [200] * CALLS
            server.process.send_signal(signal.SIGTERM)
            time.sleep(2.0)  # the workers are stopping; their rows wait for the table
        finally:
            lock.release()
        assert server.process.wait(timeout=30) == 0, server.stderr()[-2000:]
        log = server.stderr()
    uuids = {a.body["cards"][0]["uuid"] for a in answers}
    engine = create_engine(database_url)
    with engine.connect() as conn:
        stored = set(conn.scalars(select(issued_card.c.card_uuid).where(issued_card.c.card_uuid.in_(uuids))))
    engine.dispose()
    assert stored == uuids, f"{len(uuids - stored)} of {CALLS} issued cards lost at SIGTERM: {log[-3000:]}"
