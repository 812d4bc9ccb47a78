"""The only way this service talks to a FHIR server: allowlisted, time-boxed, size-capped.

A CDS request names the FHIR server to use, so that URL is attacker-controlled input until it
matches the operator's allowlist (an SSRF guard). It is parsed once, strictly (core.urls), and
every request is sent to the URL rebuilt from the parts that were checked; just before sending,
the URL requests actually prepared is read again and must still be on the checked server, and only
then does it get the access token. Redirects are never followed and bodies are read up to a cap,
so a slow or hostile server costs a bounded amount of time and memory.
"""
from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any, Mapping, Sequence, TypeGuard
from urllib.parse import urljoin

import requests

from ..core import jsonin
from ..core.settings import Settings
from ..core.urls import HttpUrl, UrlError, is_loopback_host, parse_base_url, parse_http_url
from .deadline import Deadline, DeadlineAdapter

FHIR_JSON = "application/fhir+json"


class ServerNotAllowed(Exception):
    """The FHIR server is not on the allowlist; it must not be contacted."""


class FetchError(Exception):
    """One read or search failed; the message says why without quoting the response body."""


class OutOfTime(FetchError):
    """The call's time for FHIR work ran out: what was read before it still stands."""


def check_server(url: str, allowlist: Sequence[str], dev: bool, allow_http: bool = False) -> HttpUrl:
    """The FHIR base URL as checked, or ServerNotAllowed: it must read the same to every parser
    (core.urls) and match an allowlist entry's scheme, host and port exactly, with its path at or
    below the entry's path.

    https is required except for loopback in dev mode, or when the operator allows plain http for
    allowlisted servers on a private network (the docker-compose stack). In dev mode with an empty
    allowlist any loopback server is allowed, so a developer can try a local FHIR server.
    """
    try:
        target = parse_base_url(url)
    except UrlError as exc:
        raise ServerNotAllowed(f"fhirServer is refused: {exc}") from None
    if target.scheme == "http" and not (dev and is_loopback_host(target.host)) and not allow_http:
        raise ServerNotAllowed("fhirServer must use https")
    if dev and not allowlist and is_loopback_host(target.host):
        return target
    for entry in allowlist:
        try:
            allowed = parse_base_url(entry)
        except UrlError:  # settings and the trust file refuse these at start-up
            continue
        if target.within(allowed):
            return target
    raise ServerNotAllowed("fhirServer is not on this service's allowlist of trusted FHIR servers")


@dataclass
class Reply:
    status: int
    body: dict[str, Any] | None
    reason: str = ""
    content_type: str = ""


class FhirClient:
    """One requests.Session against one checked FHIR base URL, for the duration of one hook call.
    Nothing outside that base URL is called, and the access token is sent only there."""

    def __init__(self, base: HttpUrl, access_token: str | None, settings: Settings, budget: float | None = None):
        self.base = replace(base, path=base.path.rstrip("/") + "/")
        self.access_token = access_token
        self.settings = settings
        self.budget = settings.fhir_deadline if budget is None else max(budget, 0.0)
        self.deadline = Deadline(self.budget)
        self.round_trips = 0
        self.bytes_read = 0  # all response bytes of this call, against fhir_max_bytes_per_call
        self._counting = threading.Lock()  # batch fallback reads in threads
        self.session = requests.Session()
        adapter = DeadlineAdapter(self.deadline)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers.update({"Accept": FHIR_JSON, "Prefer": "handling=strict"})

    def close(self) -> None:
        self.deadline.cancel()
        self.session.close()

    def _timeout(self) -> tuple[float, float]:
        """Each socket wait bounded by its setting and by what is left of the call's deadline."""
        left = self.deadline.remaining()
        if left <= 0:
            raise self._late()
        return min(self.settings.fhir_connect_timeout, left), min(self.settings.fhir_read_timeout, left)

    def _count(self, size: int) -> bool:
        """Add `size` bytes to this call's total; False once it is over the per-call bound."""
        with self._counting:
            self.bytes_read += size
            return self.bytes_read <= self.settings.fhir_max_bytes_per_call

    def _late(self) -> FetchError:
        return OutOfTime(f"FHIR server did not answer in time (the {self.budget:.3g} s left of the call's deadline for all FHIR work ran out)")

    def url(self, relative_or_absolute: str) -> HttpUrl:
        """Absolute URL on this server; a link that points elsewhere (a `next` link to another
        origin or outside the base path) or that parsers could read differently is refused."""
        try:
            full = parse_http_url(urljoin(self.base.text, relative_or_absolute))
        except ValueError:  # UrlError, or a link urljoin itself cannot read
            raise FetchError("a link is not a URL this service follows") from None
        if not full.within(self.base):
            raise FetchError("a link points outside the FHIR server (not followed)")
        return full

    def get(self, url: str) -> dict[str, Any]:
        return self._expect_ok(self.read(url))

    def read(self, url: str) -> Reply:
        """A GET on this server, whatever its status (a tool tells 404 from other failures)."""
        return self._send("GET", self.url(url), retry=True)

    def batch(self, urls: Mapping[str, str]) -> dict[str, dict[str, Any] | FetchError]:
        """Every GET in one batch round trip; individual GETs in parallel if batch is refused."""
        keys = list(urls)
        if len(keys) > 1:
            bundle = {
                "resourceType": "Bundle",
                "type": "batch",
                "entry": [{"request": {"method": "GET", "url": urls[k]}} for k in keys],
            }
            try:
                reply = self._send("POST", replace(self.base, path=self.base.path.rstrip("/")), json_body=bundle, retry=False)
            except FetchError as exc:  # down or silent: individual reads would only wait again
                return {k: exc for k in keys}
            if reply.status == 200 and _is_batch_response(reply.body, len(keys)):
                return {k: _entry_result(e) for k, e in zip(keys, reply.body["entry"])}
            if reply.status in (401, 403):
                error = FetchError(f"FHIR server refused access ({reply.status})")
                return {k: error for k in keys}
        with ThreadPoolExecutor(max_workers=min(8, len(keys) or 1)) as pool:
            futures = {k: pool.submit(self._get_or_error, urls[k]) for k in keys}
            return {k: f.result() for k, f in futures.items()}

    def post(self, bundle: dict[str, Any]) -> Reply:
        """A transaction or batch Bundle POSTed to the base URL, whatever the answer (a loading
        tool reports the server's own OperationOutcome)."""
        return self._send("POST", replace(self.base, path=self.base.path.rstrip("/")), json_body=bundle)

    def _get_or_error(self, url: str) -> dict[str, Any] | FetchError:
        try:
            return self.get(url)
        except FetchError as exc:
            return exc

    def _expect_ok(self, reply: Reply) -> dict[str, Any]:
        if reply.status in (401, 403):
            raise FetchError(f"FHIR server refused access ({reply.status})")
        if not 200 <= reply.status < 300 or reply.body is None:
            raise FetchError(reply.reason or f"FHIR server answered {reply.status}")
        return reply.body

    def _prepare(self, method: str, url: HttpUrl, json_body: Any) -> requests.PreparedRequest:
        """The request as requests will send it; its URL read again by the strict parser must
        still be on this server before it gets the access token."""
        prepared = self.session.prepare_request(requests.Request(
            method, url.text, data=json.dumps(json_body) if json_body is not None else None,
            headers={"Content-Type": FHIR_JSON} if json_body is not None else None))
        try:
            sent_to = parse_http_url(prepared.url or "")
        except UrlError:
            raise FetchError("FHIR request refused: the client would read its URL differently") from None
        if not sent_to.within(self.base):
            raise FetchError("FHIR request refused: the client would send it to another server")
        if self.access_token:
            prepared.headers["Authorization"] = f"Bearer {self.access_token}"
        return prepared

    def _send(self, method: str, url: HttpUrl, json_body: Any = None, retry: bool = False) -> Reply:
        prepared = self._prepare(method, url, json_body)
        environment = self.session.merge_environment_settings(url.text, {}, True, None, None)
        attempts = 2 if retry else 1
        for attempt in range(attempts):
            timeout = self._timeout()
            try:
                self.round_trips += 1
                with self.session.send(prepared, timeout=timeout, allow_redirects=False, **environment) as response:
                    return self._read(response)
            except requests.RequestException as exc:
                if self.deadline.expired:  # the timer shut the socket: whatever broke, time ran out
                    raise self._late() from None
                if isinstance(exc, requests.Timeout):  # the time budget is spent: no retry
                    raise OutOfTime("FHIR server did not answer in time") from None
                if not isinstance(exc, requests.ConnectionError):
                    raise FetchError("FHIR request failed") from None
                if attempt == attempts - 1:
                    raise FetchError("FHIR server could not be reached") from None
        raise FetchError("FHIR server could not be reached")

    def _read(self, response: requests.Response) -> Reply:
        reply = self._body(response)
        reply.content_type = response.headers.get("Content-Type", "")
        return reply

    def _body(self, response: requests.Response) -> Reply:
        if 300 <= response.status_code < 400:
            return Reply(response.status_code, None, "FHIR server answered with a redirect (not followed)")
        cap = self.settings.fhir_max_response_bytes
        chunks, size = [], 0
        for chunk in response.iter_content(chunk_size=65536):
            if self.deadline.expired:
                raise self._late()
            size += len(chunk)
            if size > cap:
                return Reply(response.status_code, None, f"FHIR response over {cap} bytes")
            if not self._count(len(chunk)):
                return Reply(response.status_code, None, "FHIR responses of this call over "
                             f"{self.settings.fhir_max_bytes_per_call} bytes in all (NERVE_CDS_FHIR_MAX_BYTES_PER_CALL)")
            chunks.append(chunk)
        if self.deadline.expired:  # the timer shut the socket: the body read is cut, not whole
            raise self._late()
        try:
            body = jsonin.loads(b"".join(chunks)) if chunks else None
        except jsonin.JsonError:
            return Reply(response.status_code, None, "FHIR server sent a body that is not JSON")
        if self.deadline.remaining() <= 0:  # parsing a large body is work too (no timer runs meanwhile)
            raise self._late()
        if body is not None and not isinstance(body, dict):
            return Reply(response.status_code, None, "FHIR server sent JSON that is not a resource")
        return Reply(response.status_code, body)


def _is_batch_response(body: dict[str, Any] | None, count: int) -> TypeGuard[dict[str, Any]]:
    return (
        isinstance(body, dict)
        and body.get("resourceType") == "Bundle"
        and body.get("type") == "batch-response"
        and isinstance(body.get("entry"), list)
        and len(body["entry"]) == count
    )


def _entry_result(entry: Any) -> dict[str, Any] | FetchError:
    """The resource of one batch-response entry, or why there is none; any member of the wrong
    JSON type (a string entry or response, a numeric status) is a malformed entry."""
    response = entry.get("response") if isinstance(entry, dict) else None
    status = response.get("status") if isinstance(response, dict) else None
    if not isinstance(status, str):
        return FetchError("FHIR server sent a malformed batch-response entry (no response.status)")
    code = status.split(" ", 1)[0]
    if code in ("401", "403"):
        return FetchError(f"FHIR server refused access ({code})")
    if not (len(code) == 3 and code.isascii() and code.isdigit()):
        return FetchError("FHIR server sent a malformed batch-response entry (response.status is not an HTTP status)")
    if not code.startswith("2"):
        return FetchError(f"FHIR server answered {code}")
    if not isinstance(entry.get("resource"), dict):
        return FetchError("FHIR server sent a malformed batch-response entry (no resource)")
    return entry["resource"]
