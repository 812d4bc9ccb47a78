"""`nerve-cds serve` as an operator runs it: authentication as the environment says, and a normal
stop (SIGTERM from the service manager, Ctrl-C) that exits 0 without a traceback."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from tests.helpers.fhir_server import free_port

NERVE_CDS = [sys.executable, "-m", "cds_service"]


@contextmanager
def served(tmp_path: Path, **env: str) -> Iterator[tuple[subprocess.Popen, str]]:
    """`serve --dev` with one gevent worker, once /readyz answers (so the worker is up)."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    clean = {k: v for k, v in os.environ.items() if not k.startswith("NERVE_CDS_")}
    process = subprocess.Popen(NERVE_CDS + ["serve", "--dev", "--port", str(port), "--workers", "1"],
                               env={**clean, "NERVE_CDS_DATABASE_URL": f"sqlite:///{tmp_path}/fb.db",
                                    "NERVE_CDS_PUBLIC_BASE_URL": base, **env},
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None:
            try:
                if requests.get(base + "/readyz", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                time.sleep(0.2)
        else:
            pytest.fail(f"nerve-cds serve did not come up: {process.communicate(timeout=30)[1]}")
        yield process, base
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=30)


def stop(process: subprocess.Popen, sig: signal.Signals) -> str:
    """Send `sig` to the gunicorn master; its stderr once everything has exited."""
    process.send_signal(sig)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr
    return stderr


@pytest.mark.parametrize("value, status", [("true", 401), ("1", 401), ("false", 200), (None, 200)])
def test_dev_mode_authentication_follows_the_variable(tmp_path, value, status):
    """Off by default with --dev; NERVE_CDS_AUTH_ENABLED=true keeps it on (no trust file: 401)."""
    env = {} if value is None else {"NERVE_CDS_AUTH_ENABLED": value}
    with served(tmp_path, **env) as (process, base):
        assert requests.get(base + "/cds-services", timeout=5).status_code == status
        stderr = stop(process, signal.SIGTERM)
    assert ("DEV MODE: authentication is ON" in stderr) is (status == 401)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_normal_stop_is_quiet(tmp_path, sig):
    with served(tmp_path) as (process, base):
        assert requests.get(base + "/cds-services", timeout=5).status_code == 200
        stderr = stop(process, sig)
    assert "Worker exiting" in stderr and "Shutting down: Master" in stderr
    assert "Traceback" not in stderr and "Exception ignored" not in stderr, stderr
