"""JWT replay cache: cost of one call with 1,000 and with 100,000 live token ids, as a ratio.

    .venv/bin/python bench/replay.py [--calls 2000]

(a) the in-process cache every worker keeps; (b) the shared store on a SQLite file (each call is
one small transaction). A cache whose cost grows with the live ids shows a ratio far above 1.
Not a test; CI does not run it.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert  # noqa: E402

from cds_service.storage.sql import SqlStorage  # noqa: E402
from cds_service.storage.sql_schema import jti_seen  # noqa: E402
from cds_service.web.auth import ReplayCache  # noqa: E402

LIVE = (1_000, 100_000)
ISS = "https://ehr.example.org"


def per_call_us(add, calls: int) -> float:
    """Median of per-call times over `calls` fresh ids, in microseconds."""
    times = []
    for _ in range(calls):
        jti = uuid.uuid4().hex
        started = time.perf_counter()
        assert add(jti)
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1e6


def in_process(live: int, calls: int) -> float:
    cache, now = ReplayCache(), time.time()
    for _ in range(live):
        cache.add(ISS, uuid.uuid4().hex, now + 300, now)
    return per_call_us(lambda jti: cache.add(ISS, jti, now + 300, now), calls)


def shared_sqlite(live: int, calls: int) -> float:
    with tempfile.TemporaryDirectory() as folder:
        storage = SqlStorage(f"sqlite:///{folder}/jti.db")
        now = time.time()
        rows = [{"key": uuid.uuid4().hex * 2, "expires": now + 360} for _ in range(live)]
        rows += [{"key": uuid.uuid4().hex * 2, "expires": now - 1} for _ in range(live // 10)]  # for the purge
        with storage.database.engine.begin() as conn:  # filled in one transaction: 100,000 fsyncs take minutes
            conn.execute(insert(jti_seen), rows)
        store = storage.replay
        result = per_call_us(lambda jti: store.claim(jti, now + 360, now), calls)
        storage.database.engine.dispose()
        return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000, help="timed calls per case (shared store: a tenth)")
    args = parser.parse_args()
    print("| cache | 1,000 live ids | 100,000 live ids | ratio |")
    print("|---|---|---|---|")
    for name, case, calls in (("in process", in_process, args.calls), ("shared, SQLite", shared_sqlite, args.calls // 10)):
        small, large = (case(live, calls) for live in LIVE)
        print(f"| {name} | {small:.1f} us | {large:.1f} us | {large / small:.2f} |")


if __name__ == "__main__":
    main()
