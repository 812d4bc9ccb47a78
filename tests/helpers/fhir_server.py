"""Start and stop a real sekmet-fhir R4 server on a free loopback port, for tests and bench."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SekmetServer:
    """A sekmet-fhir process in its own temp dir; `base_url` ends in /fhir."""

    def __init__(self) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}/fhir"
        self.dir = Path(tempfile.mkdtemp(prefix="sekmet-"))
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 30.0) -> "SekmetServer":
        config = self.dir / "sekmet.yaml"
        config.write_text(
            f"host: 127.0.0.1\nport: {self.port}\nbase_url: {self.base_url}\n"
            f"data_dir: {self.dir / 'data'}\nsimulator: {{enabled: false}}\nlog_inbound: false\n"
        )
        exe = shutil.which("sekmet") or str(Path(sys.executable).parent / "sekmet")
        self.proc = subprocess.Popen(
            [exe, "serve", "--config", str(config)],
            stdout=open(self.dir / "stdout.log", "wb"),
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"sekmet exited: {(self.dir / 'stdout.log').read_text()[-2000:]}")
            try:
                if requests.get(self.base_url + "/metadata", timeout=1).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError("sekmet-fhir did not become ready")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        shutil.rmtree(self.dir, ignore_errors=True)
