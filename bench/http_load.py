"""The benchmark's HTTP side: the service and the bare floor under the same gunicorn workers, a
load generator in its own process (so it does not share the servers' CPU accounting), and the
servers' CPU read from /proc.

The production configuration is the service as deployed: no dev mode, every call with a fresh
CDS client JWT (ES384, verified against a trust file, jti checked for replay), issued cards
written to PostgreSQL.
"""
from __future__ import annotations

import http.client
import multiprocessing as mp
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parents[1]
WORKERS = 2  # the `nerve-cds serve` default, gevent workers
PATH = "/cds-services/nerve-cds-patient-view"
TOKENS_PER_SECOND = 2000  # more than the service answers: a call without a fresh token would be refused


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cpu_seconds(master: int) -> float:
    """utime + stime of the gunicorn master and its workers, from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(entry) == master or int(fields[1]) == master:
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def _client(port: int, payload: bytes, until: float, tokens: list[str], out: list) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    while time.perf_counter() < until:
        headers = {"Content-Type": "application/json"}
        if tokens:
            headers["Authorization"] = f"Bearer {tokens.pop()}"  # one jti per call: replays are refused
        t = time.perf_counter()
        conn.request("POST", PATH, body=payload, headers=headers)
        response = conn.getresponse()
        response.read()
        if response.status != 200:
            raise RuntimeError(f"HTTP {response.status}")
        out.append(time.perf_counter() - t)
    conn.close()


def _load(port: int, payload: bytes, concurrency: int, seconds: float, signer: tuple | None, queue: mp.Queue) -> None:
    tokens: list[str] = []
    if signer is not None:  # signed before the clock starts: the client's cost is not the server's
        issuer, audience = signer
        tokens = [issuer.token(audience) for _ in range(int(seconds * TOKENS_PER_SECOND) + 100)]
    queue.put("start")
    until = time.perf_counter() + seconds
    results: list[list[float]] = [[] for _ in range(concurrency)]
    threads = [threading.Thread(target=_client, args=(port, payload, until, tokens, results[i])) for i in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    queue.put([x for r in results for x in r])


def drive(port: int, master: int, payload: bytes, concurrency: int, seconds: float, signer: tuple | None = None) -> dict:
    """requests/s, p50 and p99 in ms, and server CPU ms per request."""
    queue: mp.Queue = mp.Queue()
    loader = mp.Process(target=_load, args=(port, payload, concurrency, seconds, signer, queue))
    loader.start()
    assert queue.get(timeout=600) == "start"  # its tokens are signed: the calls begin
    before = cpu_seconds(master)
    latencies = queue.get(timeout=seconds + 600)
    loader.join()
    cpu = cpu_seconds(master) - before
    latencies.sort()
    return {"rps": len(latencies) / seconds, "p50": latencies[len(latencies) // 2] * 1000,
            "p99": latencies[int(len(latencies) * 0.99)] * 1000, "cpu": cpu / len(latencies) * 1000}


def wait_ready(port: int, path: str) -> None:
    for _ in range(600):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", path)
            conn.getresponse().read()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("server did not start")


@contextmanager
def _process(args: list[str], env: dict, port: int, ready: str) -> Iterator[subprocess.Popen]:
    proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_ready(port, ready)
        yield proc
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@contextmanager
def floor() -> Iterator[tuple[int, int]]:
    """The bare Flask floor (bench/floor_app.py) under the same gunicorn settings: (port, pid)."""
    exe, port = Path(sys.executable).parent, free_port()
    args = [str(exe / "gunicorn"), "--bind", f"127.0.0.1:{port}", "--workers", str(WORKERS), "--worker-class", "gevent",
            "bench.floor_app:app"]
    with _process(args, {**os.environ, "PYTHONPATH": str(ROOT)}, port, "/") as proc:
        yield port, proc.pid


@contextmanager
def service(production: bool, without: str | None = None) -> Iterator[tuple[int, int, tuple | None]]:
    """`nerve-cds serve`: dev mode on SQLite, or the production configuration on a throwaway
    PostgreSQL with JWTs. (port, pid, the signer the load generator needs or None). `without`:
    dev mode with that part of each call answered from the first call (bench/without.py)."""
    from tests.helpers.postgres import pg_bin, throwaway_postgres
    from tests.helpers.tokens import Issuer, write_trust_file

    exe, port = Path(sys.executable).parent, free_port()
    with ExitStack() as stack:
        folder = Path(tempfile.mkdtemp(prefix="nerve-cds-bench-"))
        stack.callback(shutil.rmtree, folder, ignore_errors=True)
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        args = [str(exe / "nerve-cds"), "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(WORKERS)]
        signer = None
        if production:
            bindir = pg_bin()
            if bindir is None:
                raise LookupError("no PostgreSQL server binaries (apt-get install postgresql)")
            issuer = Issuer("https://ehr.bench.example")
            base = f"http://127.0.0.1:{port}"
            env.update(NERVE_CDS_DATABASE_URL=stack.enter_context(throwaway_postgres(bindir)),
                       NERVE_CDS_TRUST_FILE=str(write_trust_file(folder, {"issuer": issuer})),
                       NERVE_CDS_PUBLIC_BASE_URL=base, NERVE_CDS_CARD_ID_KEY=secrets.token_hex(32))
            signer = (issuer, base + PATH)
        else:
            env["NERVE_CDS_DATABASE_URL"] = f"sqlite:///{folder / 'feedback.db'}"
            args.append("--dev")
        if without is not None:
            args = [sys.executable, str(ROOT / "bench" / "without.py"), without, "--port", str(port), "--workers", str(WORKERS)]
        proc = stack.enter_context(_process(args, env, port, "/healthz"))
        yield port, proc.pid, signer
