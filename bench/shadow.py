"""What shadow mode costs hook calls: how long the candidate's evaluator holds a gevent worker.

    .venv/bin/python bench/shadow.py [--calls 400]

A probe greenlet asks to wake every millisecond, first with nothing else running (the machine's
own noise), then while the evaluator (web/shadow.py, as under `nerve-cds serve`) works through
queued calls of four scenarios with a candidate library whose ces_recent_days is 3: how late the
probe wakes is how long a hook call arriving then would wait. Also one evaluation and one commit
on their own. SQLite in a temporary folder; loopback nothing. Figures in docs/operations.md.
"""
from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the test helpers: tests.helpers

import gevent  # noqa: E402

from cds_service.core.settings import Settings  # noqa: E402
from tests.helpers.apps import new_app  # noqa: E402
from tests.helpers.shadow import candidate_library  # noqa: E402
from tests.helpers.workbench import hook_request  # noqa: E402

SCENARIOS = ("s04-painless-saddle-and-bowel", "s01-acute-lumbar-radiculopathy", "s03-classic-cauda-equina",
             "s14-cervical-radiculopathy-7-weeks")


def ms(values: list[float], share: float) -> float:
    return sorted(values)[int(share * (len(values) - 1))] * 1000


def lateness(seconds: float | None = None, until: object = None) -> list[float]:
    """How late a 1 ms sleep wakes, sample by sample, for `seconds` or until `until()` is true."""
    found: list[float] = []
    ends = time.perf_counter() + (seconds or 1e9)
    while time.perf_counter() < ends and not (until and until()):
        started = time.perf_counter()
        gevent.sleep(0.001)
        found.append(time.perf_counter() - started - 0.001)
    return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=400)
    calls = parser.parse_args().calls
    folder = Path(tempfile.mkdtemp())
    app = new_app(Settings(dev=True, auth_enabled=False, log_level="WARNING", database_url=f"sqlite:///{folder}/fb.db",
                           shadow_cards_dir=candidate_library(folder)))
    client, shadow = app.test_client(), app.extensions["nerve_cds.shadow"]
    jobs: list = []
    submit, shadow.submit = shadow.submit, jobs.append  # keep the calls' inputs instead of evaluating them
    discovery = client.get("/cds-services").get_json()
    for scenario in SCENARIOS:
        service, body = hook_request(scenario, discovery)
        client.post(f"/cds-services/{service}", json=body)
    shadow.submit = submit

    for scenario, job in zip(SCENARIOS, jobs):
        times = []
        for _ in range(30):
            started = time.perf_counter()
            shadow._evaluate(job)
            times.append(time.perf_counter() - started)
        print(f"evaluation {scenario:36} median {ms(times, .5):6.2f} ms  max {max(times) * 1000:6.2f} ms")
    one = shadow._evaluate(jobs[0])
    times = []
    for _ in range(20):
        started = time.perf_counter()
        shadow._store.record([one])
        times.append(time.perf_counter() - started)
    print(f"commit of one call's differences            median {ms(times, .5):6.2f} ms  max {max(times) * 1000:6.2f} ms")

    idle = lateness(seconds=1.0)
    print(f"probe, nothing else running                 p50 {ms(idle, .5):6.2f}  p99 {ms(idle, .99):6.2f}  "
          f"max {max(idle) * 1000:6.2f} ms")
    started = time.perf_counter()
    for n in range(calls):
        shadow.submit(jobs[n % len(jobs)])
    busy = lateness(until=lambda: not shadow._pending.unfinished_tasks)
    took = time.perf_counter() - started
    print(f"probe, evaluator on {calls} calls ({took:.2f} s)     p50 {ms(busy, .5):6.2f}  p99 {ms(busy, .99):6.2f}  "
          f"max {max(busy) * 1000:6.2f} ms")


if __name__ == "__main__":
    main()
