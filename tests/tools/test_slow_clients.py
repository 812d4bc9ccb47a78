"""Slow clients must not take the service off the air: with the default `nerve-cds serve`, 200
connections that trickle their headers or bodies leave room for a well-behaved EHR, which still
gets its cards within a second. Real server process, real sockets, loopback only."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid

import requests

from tests.helpers.fhir_server import free_port
from tests.helpers.workbench import hook_request

SLOW = 200
SERVICE = "nerve-cds-patient-view"


class Trickler:
    """Connections that send a request a byte at a time, forever (until stopped)."""

    def __init__(self, port: int, count: int):
        self.sockets: list[socket.socket] = []
        for i in range(count):
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            if i % 2:  # slow headers: never finishes the header block
                s.sendall(f"POST /cds-services/{SERVICE} HTTP/1.1\r\nHost: localhost\r\n".encode())
            else:  # slow body: complete headers, a body that never arrives in full
                s.sendall(f"POST /cds-services/{SERVICE} HTTP/1.1\r\nHost: localhost\r\n"
                          "Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{".encode())
            self.sockets.append(s)
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._trickle, daemon=True)
        self.thread.start()

    def _trickle(self) -> None:
        deadline = time.monotonic() + 120  # bounded whatever happens
        while not self._stop.wait(0.5) and time.monotonic() < deadline:
            for s in self.sockets:
                try:
                    s.send(b"X")
                except OSError:
                    pass

    def stop(self) -> None:
        self._stop.set()
        self.thread.join(timeout=5)
        for s in self.sockets:
            s.close()


def test_two_hundred_slow_clients_leave_room_for_an_ehr(tmp_path):
    port = free_port()
    clean = {k: v for k, v in os.environ.items() if not k.startswith("NERVE_CDS_")}
    server = subprocess.Popen([sys.executable, "-m", "cds_service", "serve", "--dev", "--port", str(port)],
                              env={**clean, "NERVE_CDS_DATABASE_URL": f"sqlite:///{tmp_path}/fb.db"},
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    trickler = None
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                discovery = requests.get(f"{base}/cds-services", timeout=2).json()
                break
            except requests.RequestException:
                time.sleep(0.3)
        _, body = hook_request("s03-classic-cauda-equina", discovery)
        body["hookInstance"] = str(uuid.uuid4())

        trickler = Trickler(port, SLOW)
        time.sleep(1.0)  # let every slow connection reach a worker
        started = time.monotonic()
        response = requests.post(f"{base}/cds-services/{SERVICE}", data=json.dumps(body),
                                 headers={"Content-Type": "application/json"}, timeout=10)
        elapsed = time.monotonic() - started
        assert response.status_code == 200, response.text
        assert "cauda-equina-emergency" in {c["source"]["topic"]["code"] for c in response.json()["cards"]}
        assert elapsed < 1.0, f"the EHR waited {elapsed:.2f} s behind {SLOW} slow clients"
    finally:
        if trickler:
            trickler.stop()
        server.terminate()
        server.wait(timeout=30)
