"""How busy this process is with hook calls, so that everything else gives way to them.

An EHR waits for cards; nobody waits for an issued-card row, a feedback write or a chart. So the
issued-card writer holds back while hook calls are in flight (up to a second at a time, so rows
still get written under steady load), feedback is refused with 503 and Retry-After while the
process is busy (the spec lets clients send it again), and a stopping worker waits for its calls
before it writes what is queued. Under gevent the waits are cooperative sleeps.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

# Hook calls in flight in one process from which feedback is refused: a gevent worker runs one
# greenlet at a time, so past a few dozen calls each one waits for the CPU.
BUSY_CALLS = 16
PACE_SECONDS = 1.0  # longest a background write holds back for hook calls


class Load:
    def __init__(self, busy_calls: int = BUSY_CALLS) -> None:
        self.busy_calls = busy_calls
        self.calls = 0
        self.stopping = False
        self._lock = threading.Lock()  # made with the app, in the process (and after the patch) that serves

    @contextmanager
    def hook_call(self) -> Iterator[None]:
        with self._lock:
            self.calls += 1
        try:
            yield
        finally:
            with self._lock:
                self.calls -= 1

    def busy(self) -> bool:
        return self.calls >= self.busy_calls

    def pace(self) -> None:
        """Background work waits here while hook calls are in flight, at most PACE_SECONDS."""
        ends = time.monotonic() + PACE_SECONDS
        while self.calls and not self.stopping and time.monotonic() < ends:
            time.sleep(0.02)

    def drain(self, timeout: float) -> bool:
        """Stop holding background work back and wait (at most `timeout` s) for the hook calls in
        flight to finish; False if some were still running."""
        self.stopping = True
        ends = time.monotonic() + timeout
        while self.calls and time.monotonic() < ends:
            time.sleep(0.02)
        return not self.calls
