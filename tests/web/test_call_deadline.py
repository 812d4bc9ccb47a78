"""One deadline for the whole hook call: the FHIR work gets what is left of it, a call that has
already used it up gets a 503 that says so (never cards, never an empty list), and feedback
gives way to hook calls when the process is busy. Real app, real trickling and silent servers."""
from __future__ import annotations

import io
import json
import threading
import time

from cds_service.core.settings import Settings
from tests.helpers.apps import new_app
from tests.helpers.calls import CES, SERVICE, hook, issue_card, outcome
from tests.helpers.fault_servers import Misbehaving, SilentSocket, trickle

SEARCHSET = json.dumps({"resourceType": "Bundle", "type": "searchset", "entry": []}).encode()


def fetching(base_url: str) -> dict:
    """A patient-view call that leaves every key to be fetched from `base_url`."""
    body = hook(fhirServer=base_url)
    del body["prefetch"]
    return body


def test_the_fhir_work_gets_what_is_left_of_the_call_deadline(tmp_path):
    """FHIR deadline 5 s, call deadline 1 s: a trickling server is cut off inside the call's second."""
    app = new_app(Settings(dev=True, auth_enabled=False, database_url=f"sqlite:///{tmp_path}/fb.db",
                           fhir_deadline=5.0, call_deadline=1.0))
    with Misbehaving(trickle(200, SEARCHSET, 0.05)) as server:
        started = time.monotonic()
        response = app.test_client().post(SERVICE, json=fetching(server.base_url))
        elapsed = time.monotonic() - started
    assert "did not answer in time" in outcome(response, 412)["diagnostics"]
    assert elapsed < 1.0, f"answered after {elapsed:.2f} s against a 1 s deadline"


class SlowBody(io.BytesIO):
    """A request body that arrives late, as from an EHR behind a congested link."""

    def __init__(self, data: bytes, delay: float):
        super().__init__(data)
        self.delay = delay

    def _late(self) -> None:
        if self.delay:
            time.sleep(self.delay)
            self.delay = 0.0

    def read(self, size: int | None = -1) -> bytes:
        self._late()
        return super().read(size)

    def readinto(self, buffer) -> int:
        self._late()
        return super().readinto(buffer)


def test_a_call_that_used_up_its_deadline_gets_503_not_cards(tmp_path):
    app = new_app(Settings(dev=True, auth_enabled=False, database_url=f"sqlite:///{tmp_path}/fb.db", call_deadline=0.5))
    body = json.dumps(hook(prefetch=CES)).encode()
    response = app.test_client().post(SERVICE, input_stream=SlowBody(body, 0.7),
                                      content_type="application/json", headers={"Content-Length": str(len(body))})
    issue = outcome(response, 503)
    assert issue["code"] == "timeout" and "not an absence of findings" in issue["diagnostics"]


def test_feedback_waits_while_the_process_is_busy_with_hook_calls(tmp_path):
    """Sixteen calls waiting on a silent FHIR server keep the process busy: feedback gets 503 with
    Retry-After (it can come again); once they are answered, it is stored."""
    app = new_app(Settings(dev=True, auth_enabled=False, database_url=f"sqlite:///{tmp_path}/fb.db", call_deadline=2.0))
    _, card = issue_card(app.test_client())
    feedback = {"feedback": [{"card": card["uuid"], "outcome": "overridden", "outcomeTimestamp": "2026-11-24T10:00:00Z"}]}
    statuses: list[int] = []
    with SilentSocket() as silent:
        calls = [threading.Thread(target=lambda: statuses.append(app.test_client().post(SERVICE, json=fetching(silent.base_url)).status_code))
                 for _ in range(16)]
        for call in calls:
            call.start()
        ends = time.monotonic() + 1.5
        while app.extensions["nerve_cds.load"].calls < 16 and time.monotonic() < ends:
            time.sleep(0.01)
        busy = app.test_client().post(SERVICE + "/feedback", json=feedback)
        for call in calls:
            call.join(timeout=10)
    assert outcome(busy, 503) and busy.headers["Retry-After"] == "5"
    assert statuses == [412] * 16
    assert app.test_client().post(SERVICE + "/feedback", json=feedback).status_code == 200


def test_analytics_wait_while_the_process_is_busy_with_hook_calls(tmp_path):
    app = new_app(Settings(dev=True, auth_enabled=False, database_url=f"sqlite:///{tmp_path}/fb.db", workbench_enabled=True))
    load = app.extensions["nerve_cds.load"]
    calls = [load.hook_call() for _ in range(load.busy_calls)]
    for call in calls:
        call.__enter__()
    busy = app.test_client().get("/workbench/feedback")
    for call in calls:
        call.__exit__(None, None, None)
    assert busy.status_code == 503 and busy.headers["Retry-After"] == "5"
    assert app.test_client().get("/workbench/feedback").status_code == 200
