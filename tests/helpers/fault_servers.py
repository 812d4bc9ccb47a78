"""Small real HTTP servers for tests: a recording proxy in front of the FHIR server, and servers
that misbehave on purpose (500s, broken JSON, huge bodies, redirects, silence, one byte a second,
another patient's data), and a bystander that records any request reaching it."""
from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable

import requests


class _Httpd(ThreadingHTTPServer):
    # The default backlog of 5 drops connections when the service's parallel reads (up to 8)
    # arrive on a busy machine, and the client's SYN retry comes after its connect timeout.
    request_queue_size = 64


class _Server:
    def __init__(self, handler: type[BaseHTTPRequestHandler]):
        self.httpd = _Httpd(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


class RecordingProxy(_Server):
    """Forwards to `upstream` (a FHIR base URL) and records each request; `refuse_batch` answers
    405 to a POST of a batch Bundle, as a server without batch support would; `rewrite` changes
    the path of each GET on its way (a proxy that mixes up searches)."""

    def __init__(self, upstream: str, refuse_batch: bool = False, rewrite: Callable[[str], str] | None = None):
        self.upstream = upstream.rstrip("/")
        self.seen: list[dict] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _forward(self, method: str) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)) if method == "POST" else None
                proxy.seen.append({"method": method, "path": self.path, "headers": dict(self.headers)})
                if method == "POST" and proxy.refuse_batch:
                    self.send_response(405)
                    self.send_header("Content-Type", "application/fhir+json")
                    self.end_headers()
                    self.wfile.write(b'{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"not-supported"}]}')
                    return
                path = self.path[len("/fhir"):] if self.path.startswith("/fhir") else self.path
                if method == "GET" and rewrite is not None:
                    path = rewrite(path)
                upstream = requests.request(
                    method, proxy.upstream + path, data=body,
                    headers={"Content-Type": "application/fhir+json", "Accept": "application/fhir+json"}, timeout=30,
                )
                text = upstream.content.replace(proxy.upstream.encode(), proxy.base_url.encode())
                self.send_response(upstream.status_code)
                self.send_header("Content-Type", "application/fhir+json")
                self.send_header("Content-Length", str(len(text)))
                self.end_headers()
                self.wfile.write(text)

            def do_GET(self):
                self._forward("GET")

            def do_POST(self):
                self._forward("POST")

        super().__init__(Handler)
        self.refuse_batch = refuse_batch
        self.base_url = f"http://127.0.0.1:{self.port}/fhir"


class Misbehaving(_Server):
    """Answers every request with `respond(handler)`; counts the requests it saw."""

    def __init__(self, respond: Callable[[BaseHTTPRequestHandler], None]):
        self.count = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _any(self):
                server.count += 1
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                respond(self)

            do_GET = do_POST = _any

        super().__init__(Handler)
        self.base_url = f"http://127.0.0.1:{self.port}/fhir"


def reply(status: int, body: bytes, content_type: str = "application/fhir+json", headers: dict | None = None):
    def respond(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        for key, value in (headers or {}).items():
            handler.send_header(key, value)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    return respond


class SilentSocket:
    """Accepts connections and never answers: the read timeout must end the wait."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.base_url = f"http://127.0.0.1:{self.port}/fhir"
        self.accepted: list[socket.socket] = []
        self._stop = False
        self.thread = threading.Thread(target=self._accept, daemon=True)

    def _accept(self):
        self.sock.settimeout(0.2)
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
                self.accepted.append(conn)
            except OSError:
                continue

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self._stop = True
        self.thread.join(timeout=2)
        for conn in self.accepted:
            conn.close()
        self.sock.close()


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/fhir"


def trickle(status: int, body: bytes, interval: float, headers_too: bool = True):
    """Send the reply one byte every `interval` seconds (from the status line, or from the body):
    every socket read succeeds quickly, so only an overall deadline ends the wait."""
    def respond(handler: BaseHTTPRequestHandler) -> None:
        head = (f"HTTP/1.1 {status} OK\r\nContent-Type: application/fhir+json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n").encode()
        slow = head + body if headers_too else body
        try:
            if not headers_too:
                handler.wfile.write(head)
                handler.wfile.flush()
            for byte in slow:
                handler.wfile.write(bytes([byte]))
                handler.wfile.flush()
                time.sleep(interval)
        except OSError:  # the client gave up: that is the point
            pass
        handler.close_connection = True

    return respond


class ByPath(Misbehaving):
    """A FHIR server answering GETs from a table of path prefix -> JSON body, and refusing batch
    (405), so each prefetch key is one GET; unknown paths get an empty searchset."""

    def __init__(self, answers: dict[str, dict]):
        self.answers = answers

        def respond(handler: BaseHTTPRequestHandler) -> None:
            if handler.command == "POST":
                return reply(405, b'{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"not-supported"}]}')(handler)
            path = handler.path[len("/fhir/"):]
            body = next((b for prefix, b in self.answers.items() if path.startswith(prefix)),
                        {"resourceType": "Bundle", "type": "searchset", "entry": []})
            return reply(200, json.dumps(body).encode())(handler)

        super().__init__(respond)


class _Httpd6(_Httpd):
    address_family = socket.AF_INET6


class Bystander:
    """A server that must never be called: it records every request (path and headers) it gets,
    on 127.0.0.1 and, where the machine has IPv6, on ::1 at the same port, so a URL that reaches
    it by any spelling of loopback is caught."""

    def __init__(self):
        self.seen: list[dict] = []
        bystander = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _any(self):
                bystander.seen.append({"method": self.command, "path": self.path, "headers": dict(self.headers)})
                reply(200, b'{"resourceType":"Bundle","type":"searchset","entry":[]}')(self)

            do_GET = do_POST = do_PUT = do_DELETE = _any

        self.servers = [_Httpd(("127.0.0.1", 0), Handler)]
        self.port = self.servers[0].server_address[1]
        try:
            self.servers.append(_Httpd6(("::1", self.port), Handler))
        except OSError:  # no IPv6 loopback here, or the port is taken on it
            pass
        for server in self.servers:
            server.daemon_threads = True
        self.threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in self.servers]

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        for server in self.servers:
            server.shutdown()
            server.server_close()
