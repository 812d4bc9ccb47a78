"""Which CDS clients we trust, and their public keys.

The trust file is the operator's allowlist of issuers (CDS Hooks: "maintain an allowlist of iss
and jku urls"). A key set is read from a local file, or from the one URL registered for that
client; no other URL is ever fetched, whatever a token's `jku` header says.
"""
from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlsplit

import jwt
import requests
import urllib3
import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from ..core.config import ConfigError
from ..core.urls import UrlError, is_loopback_http, parse_base_url
from ..core.validation import describe
from ..data.deadline import Deadline, DeadlineAdapter

# Symmetric algorithms (HS*) and `none` are refused whatever the trust file says (CDS Hooks 2.0).
ASYMMETRIC = frozenset({"ES256", "ES384", "ES512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "EdDSA"})
DEFAULT_ALGORITHMS = ("ES384", "RS384")
# The public CDS Hooks sandbox publishes its private key, so anyone can sign as it.
SANDBOX_ISSUERS = frozenset({"https://sandbox.cds-hooks.org"})
SANDBOX_HOST = "sandbox.cds-hooks.org"
JWKS_REFRESH_SECONDS = 60.0
JWKS_MAX_BYTES = 256_000


class TrustError(ConfigError):
    """The trust file is wrong; the message names the file, the client and the problem."""


class KeyNotFound(Exception):
    pass


@dataclass
class KeySet:
    """A client's JWK Set: fixed (from a file) or fetched from its registered URL and cached."""

    url: str | None = None
    keys: dict[str, jwt.PyJWK] = field(default_factory=dict)
    fetcher: Callable[[str], dict[str, Any]] | None = None
    _last_fetch: float = field(default=-1e9)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def key(self, kid: str, now: float) -> jwt.PyJWK:
        """The key `kid` of this set; an unknown kid refreshes a URL-backed set (rate-limited)."""
        if kid in self.keys:
            return self.keys[kid]
        if self.url is not None:
            self._refresh(now)
            if kid in self.keys:
                return self.keys[kid]
        raise KeyNotFound(kid)

    def _refresh(self, now: float) -> None:
        """At most once a minute, so unknown kids cannot make us hammer the client's server.
        A failed fetch keeps the keys we had (a rotation must not lock out the current key)."""
        with self._lock:
            if abs(now - self._last_fetch) < JWKS_REFRESH_SECONDS:
                return
            self._last_fetch = now
            if self.url is None:
                return
            try:
                self.keys = parse_jwks((self.fetcher or fetch_jwks)(self.url))
            except (requests.RequestException, ValueError, jwt.PyJWTError):
                return


def fetch_jwks(url: str, timeout: float = 5.0) -> dict[str, Any]:
    """The JWK Set at `url`, fetched whole within `timeout` seconds and at most JWKS_MAX_BYTES:
    requests' timeouts bound each socket wait, so a host sending a byte a second would hold the
    call (and every call of that client, waiting on the set's lock) for as long as it likes; the
    deadline (data/deadline.py) shuts the socket instead. ValueError when it cannot be had."""
    deadline = Deadline(timeout)
    session = requests.Session()
    adapter = DeadlineAdapter(deadline)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    try:
        with session.get(url, timeout=(min(3.0, timeout), timeout), allow_redirects=False, stream=True) as response:
            response.raise_for_status()
            body = response.raw.read(JWKS_MAX_BYTES + 1, decode_content=True)
    except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
        if deadline.expired:
            raise ValueError(f"JWK Set not fetched within {timeout:g} s") from None
        raise ValueError(f"JWK Set not fetched ({exc.__class__.__name__})") from None
    finally:
        deadline.cancel()
        session.close()
    if deadline.expired:
        raise ValueError(f"JWK Set not fetched within {timeout:g} s")
    if len(body) > JWKS_MAX_BYTES:
        raise ValueError("JWK Set too large")
    return json.loads(body)


def parse_jwks(data: Any) -> dict[str, jwt.PyJWK]:
    """Signing keys by kid; ValueError for something that is not a JWK Set."""
    if not isinstance(data, dict) or not isinstance(data.get("keys"), list):
        raise ValueError("not a JWK Set (an object with a `keys` list)")
    keys: dict[str, jwt.PyJWK] = {}
    for i, entry in enumerate(data["keys"]):
        if not isinstance(entry, dict) or not entry.get("kid"):
            continue
        if entry.get("kty") == "oct" or entry.get("use", "sig") != "sig":  # symmetric or not for signing
            continue
        if not isinstance(entry["kid"], str):
            raise ValueError(f"keys[{i}].kid: not a string")
        keys[entry["kid"]] = _key(entry, i)
    return keys


def _key(entry: dict[str, Any], i: int) -> jwt.PyJWK:
    """One JWK as a key, or ValueError naming it. PyJWKError's own text quotes the whole JWK,
    which may be a private key pasted by mistake, so only its kind is said."""
    try:
        return jwt.PyJWK(entry)
    except jwt.InvalidKeyError as exc:
        raise ValueError(f"keys[{i}] (kid {entry['kid']}): {exc}") from None
    except jwt.PyJWKError:
        raise ValueError(f"keys[{i}] (kid {entry['kid']}): no signing algorithm for its kty, crv or alg") from None


@dataclass(frozen=True)
class Client:
    iss: str
    keyset: KeySet
    algorithms: frozenset[str]
    tenant: str | None = None
    fhir_servers: tuple[str, ...] = ()

    @property
    def jwks_url(self) -> str | None:
        return self.keyset.url


@dataclass(frozen=True)
class Trust:
    clients: dict[str, Client]

    def client(self, iss: str) -> Client | None:
        return self.clients.get(iss)


class _ClientEntry(BaseModel):
    """One client as written in the trust file; a misspelt key is refused, not ignored."""

    model_config = ConfigDict(extra="forbid")

    iss: str
    jwks_file: str | None = None
    jwks_url: str | None = None
    jwks: dict[str, Any] | None = None
    algorithms: str | list[str] | None = None
    tenant: str | int | None = None
    fhir_servers: str | list[str] | None = None


class _TrustFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    clients: list[_ClientEntry] = []


def load_trust(path: Path | None, dev: bool, jwks_timeout: float = 5.0) -> Trust:
    if path is None:
        return Trust({})
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise TrustError(f"{path}: cannot be read: {exc}") from None
    try:
        parsed = _TrustFile.model_validate(data)
    except ValidationError as exc:
        raise TrustError(f"{path}: {describe(exc)}") from None
    clients: dict[str, Client] = {}
    for i, model in enumerate(parsed.clients):
        place = f"{path}: clients[{i}]"
        entry = model.model_dump(exclude_none=True)
        if not entry["iss"]:
            raise TrustError(f"{place}: each client needs an `iss`")
        iss = str(entry["iss"])
        if iss in clients:
            raise TrustError(f"{place}: issuer {iss} is registered twice")
        if _is_sandbox(iss, entry.get("jwks_url")) and not dev:
            raise TrustError(f"{place}: the public CDS Hooks sandbox ({iss}) publishes its private key, "
                             "so anyone can sign as it; it may only be trusted in dev mode (NERVE_CDS_DEV)")
        named = entry.get("algorithms") or DEFAULT_ALGORITHMS
        algorithms = frozenset([named] if isinstance(named, str) else named)
        bad = sorted(algorithms - ASYMMETRIC)
        if bad:
            raise TrustError(f"{place}.algorithms: {bad} not allowed (only asymmetric algorithms)")
        clients[iss] = Client(
            iss=iss,
            keyset=_keyset(entry, path, place, dev, jwks_timeout),
            algorithms=algorithms,
            tenant=None if entry.get("tenant") is None else str(entry["tenant"]),
            fhir_servers=_fhir_servers(entry.get("fhir_servers"), place),
        )
    return Trust(clients)


def _keyset(entry: dict[str, Any], path: Path, place: str, dev: bool, jwks_timeout: float) -> KeySet:
    if entry.get("jwks_file") and entry.get("jwks_url"):
        raise TrustError(f"{place}: give jwks_file or jwks_url, not both")
    if entry.get("jwks_file"):
        file = (path.parent / entry["jwks_file"]).resolve()
        try:
            return KeySet(keys=parse_jwks(json.loads(file.read_text(encoding="utf-8"))))
        except (OSError, ValueError) as exc:
            raise TrustError(f"{place}.jwks_file: {exc}") from None
    if entry.get("jwks_url"):
        url = str(entry["jwks_url"])
        if not url.startswith("https://") and not (dev and is_loopback_http(url)):
            raise TrustError(f"{place}.jwks_url: must be https (plain http only for loopback in dev mode)")
        return KeySet(url=entry["jwks_url"], fetcher=partial(fetch_jwks, timeout=jwks_timeout))
    if entry.get("jwks"):
        try:
            return KeySet(keys=parse_jwks(entry["jwks"]))
        except ValueError as exc:
            raise TrustError(f"{place}.jwks: {exc}") from None
    raise TrustError(f"{place}: needs jwks_file, jwks_url or jwks")


def _fhir_servers(value: Any, place: str) -> tuple[str, ...]:
    """A list of base URLs (a single string is taken as one), never a string split into letters."""
    servers = [value] if isinstance(value, str) else list(value or ())
    if not all(isinstance(s, str) for s in servers):
        raise TrustError(f"{place}.fhir_servers: a list of FHIR base URLs (https://host[:port]/path)")
    for i, server in enumerate(servers):
        try:  # the parser every fhirServer goes through, so the entry means what it says
            parse_base_url(server)
        except UrlError as exc:
            raise TrustError(f"{place}.fhir_servers[{i}]: not a FHIR base URL like https://host[:port]/path ({exc})") from None
    return tuple(servers)


def _is_sandbox(iss: str, jwks_url: Any) -> bool:
    """The sandbox's issuer, however spelled, or any client whose keys come from the sandbox."""
    hosts = {urlsplit(iss).hostname, urlsplit(str(jwks_url or "")).hostname}
    return iss.rstrip("/") in SANDBOX_ISSUERS or SANDBOX_HOST in hosts
