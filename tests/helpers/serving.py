"""The real `nerve-cds serve` as an operator runs it (gunicorn, gevent workers), and a burst of
concurrent hook calls against it, each timed from the client's side. Loopback only; every wait
is bounded."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.helpers.calls import SERVICE
from tests.helpers.fhir_server import free_port

NERVE_CDS = [sys.executable, "-m", "cds_service"]


@dataclass
class Served:
    process: subprocess.Popen
    base: str
    log: Path

    def stderr(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


@contextmanager
def served(tmp_path: Path, workers: int = 2, **env: str) -> Iterator[Served]:
    """`serve --dev` with `workers` gevent workers, from the moment /readyz first answers 200; its
    stderr goes to a file (a pipe nobody reads would fill and stall it)."""
    port = free_port()
    clean = {k: v for k, v in os.environ.items() if not k.startswith("NERVE_CDS_")}
    log = tmp_path / f"serve-{port}.log"
    with log.open("w") as sink:
        process = subprocess.Popen(NERVE_CDS + ["serve", "--dev", "--port", str(port), "--workers", str(workers)],
                                   env={**clean, "NERVE_CDS_DATABASE_URL": f"sqlite:///{tmp_path}/fb.db", **env},
                                   stdout=subprocess.DEVNULL, stderr=sink)
    server = Served(process, f"http://127.0.0.1:{port}", log)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None:
            try:
                if requests.get(server.base + "/readyz", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.1)
        else:
            pytest.fail(f"nerve-cds serve did not come up: {server.stderr()[-2000:]}")
        yield server
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)


@dataclass
class Answer:
    status: int  # 0: no answer before the client gave up
    seconds: float
    body: Any


def fire(base: str, bodies: list[dict], timeout: float, path: str = SERVICE) -> list[Answer]:
    """Every body POSTed at once (one thread each), each timed until its answer or `timeout`."""
    def call(body: dict) -> Answer:
        started = time.monotonic()
        try:
            response = requests.post(base + path, data=json.dumps(body), timeout=timeout,
                                     headers={"Content-Type": "application/json", "Connection": "close"})
        except requests.RequestException:
            return Answer(0, time.monotonic() - started, None)
        try:
            parsed = response.json()
        except ValueError:
            parsed = response.text
        return Answer(response.status_code, time.monotonic() - started, parsed)

    with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
        return list(pool.map(call, bodies))
