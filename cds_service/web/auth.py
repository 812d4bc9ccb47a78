"""Authenticating the CDS client: a signed JWT on every call, as CDS Hooks 2.0 requires.

Checks, in this order (`verify`): the header (typ JWT, a kid, an asymmetric algorithm); the
issuer on the allowlist, with that algorithm and, if the header names one, its registered JWK Set
URL; the key by kid; the signature, with the required claims and an audience of exactly the URL
called; the times (not expired, iat not in the future, lifetime within the maximum); the tenant;
and last the jti never seen before, so only an otherwise valid token takes a place in the replay
cache. A failure is a bare 401: the reason goes to our log (with iss, kid and jti), never to the
caller, and the token itself is never logged.
"""
from __future__ import annotations

import hashlib
import heapq
import logging
import math
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable

import jwt
from flask import Flask, Response, current_app, g, request

from ..core.settings import Settings
from ..storage.interface import ReplayStore, Storage, StoreUnavailable
from .trust import ASYMMETRIC, Client, KeyNotFound, Trust, load_trust

log = logging.getLogger("nerve_cds.auth")

CLOCK_SKEW_SECONDS = 60


class AuthError(Exception):
    """Why a token was refused; goes to the log only."""


@dataclass
class Claims:
    iss: str | None = None
    kid: str | None = None
    jti: str | None = None


class ReplayCache:
    """jti values seen, each kept until its token can no longer be accepted (exp plus skew).

    Always in process; also in the shared store when given, so that a token accepted by one
    gunicorn worker or replica is refused by the others. If that store is down we fall back to
    the in-process cache (and say so) rather than refuse every caller. Expired ids leave the
    process in expiry order (a heap), so a call costs the same however many tokens are live."""

    def __init__(self, shared: ReplayStore | None = None) -> None:
        self._seen: dict[str, float] = {}
        self._expiry: list[tuple[float, str]] = []
        self._lock = threading.Lock()
        self._shared = shared

    def add(self, iss: str, jti: str, exp: float, now: float) -> bool:
        """False if this jti was already used by this issuer."""
        key = hashlib.sha256(f"{iss}\0{jti}".encode()).hexdigest()  # fixed size, no token text
        expires_at = exp + CLOCK_SKEW_SECONDS
        with self._lock:
            while self._expiry and self._expiry[0][0] <= now:
                _, old = heapq.heappop(self._expiry)
                if self._seen.get(old, now) <= now:
                    self._seen.pop(old, None)
            held = self._seen.get(key)
            if held is not None and held > now:
                return False
            self._seen[key] = expires_at
            heapq.heappush(self._expiry, (expires_at, key))
        if self._shared is None:
            return True
        try:
            return self._shared.claim(key, expires_at, now)
        except StoreUnavailable as exc:
            log.warning("shared jti replay cache unavailable; this process's cache only",
                        extra={"fields": {"error": str(exc)}})
            return True


def verify(token: str, audience: str, trust: Trust, replay: ReplayCache, now: float, max_lifetime: float) -> Client:
    """The trusted client that signed `token` for `audience`, or AuthError."""
    seen = Claims()
    try:
        header = jwt.get_unverified_header(token)
        unverified = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise AuthError("malformed token", seen) from None
    seen.kid, seen.iss, seen.jti = header.get("kid"), unverified.get("iss"), unverified.get("jti")
    alg = header.get("alg")
    if str(header.get("typ", "")).upper() != "JWT":
        raise AuthError("typ is not JWT", seen)
    if not seen.kid:
        raise AuthError("no kid", seen)
    if not isinstance(alg, str) or alg not in ASYMMETRIC:
        raise AuthError(f"algorithm {alg!r} refused", seen)
    client = trust.client(seen.iss) if isinstance(seen.iss, str) else None
    if client is None:
        raise AuthError("issuer not trusted", seen)
    if alg not in client.algorithms:
        raise AuthError(f"algorithm {alg} not allowed for this client", seen)
    jku = header.get("jku")
    if jku is not None and client.jwks_url is not None and jku != client.jwks_url:
        raise AuthError("jku is not the client's registered JWK Set URL", seen)
    try:
        key = client.keyset.key(seen.kid, now)
    except KeyNotFound:
        raise AuthError("unknown kid for this client", seen) from None
    try:
        claims = jwt.decode(
            token,
            key=key.key,
            algorithms=[alg],
            audience=audience,
            issuer=client.iss,
            options={
                "require": ["iss", "aud", "exp", "iat", "jti"],
                "verify_exp": False,
                "verify_iat": False,
                "verify_nbf": False,
            },
        )
    except jwt.InvalidAudienceError:
        raise AuthError("aud is not this endpoint", seen) from None
    except jwt.MissingRequiredClaimError as exc:
        raise AuthError(f"missing claim {exc.claim}", seen) from None
    except (jwt.PyJWTError, TypeError, ValueError) as exc:  # TypeError: alg of another key family
        raise AuthError(f"invalid token ({exc.__class__.__name__})", seen) from None
    aud = claims["aud"]
    if aud != audience and aud != [audience]:  # the spec allows "url" or ["url"], nothing broader
        raise AuthError("aud names more than this endpoint", seen)
    exp = _check_times(claims, now, max_lifetime, seen)
    if client.tenant is not None and claims.get("tenant") != client.tenant:
        raise AuthError("tenant not allowed", seen)
    if not replay.add(client.iss, str(claims["jti"]), exp, now):
        raise AuthError("jti replayed", seen)
    return client


def _check_times(claims: dict[str, Any], now: float, max_lifetime: float, seen: Claims) -> float:
    """exp, once iat, exp (and nbf if sent) are real times, the lifetime is short enough and the
    token is valid now."""
    iat, exp = _instant(claims, "iat", seen), _instant(claims, "exp", seen)
    if exp < iat:
        raise AuthError("exp before iat", seen)
    if exp - iat > max_lifetime:
        raise AuthError(f"lifetime {exp - iat:.0f} s over the {max_lifetime:.0f} s maximum", seen)
    if exp < now - CLOCK_SKEW_SECONDS:
        raise AuthError("expired", seen)
    if iat > now + CLOCK_SKEW_SECONDS:
        raise AuthError("iat in the future", seen)
    if "nbf" in claims and _instant(claims, "nbf", seen) > now + CLOCK_SKEW_SECONDS:
        raise AuthError("not yet valid", seen)
    return exp


def _instant(claims: dict[str, Any], name: str, seen: Claims) -> float:
    """A claim in seconds since the epoch: a finite JSON number (PyJWT's parser lets NaN and
    Infinity through, and NaN compares false with everything)."""
    value = claims.get(name)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise AuthError(f"{name} is not a number", seen)
    try:
        seconds = float(value)
    except OverflowError:
        raise AuthError(f"{name} is out of range", seen) from None
    if not math.isfinite(seconds):
        raise AuthError(f"{name} is not a finite number", seen)
    return seconds


def endpoint_url(settings: Settings) -> str:
    """The exact URL called, as the client saw it: the configured public base URL and the path.
    Never the request's Host or X-Forwarded-* headers: a caller chooses those, so a token minted
    for another service would pass by naming that service's host."""
    return settings.public_base_url + request.path


def _protected(path: str) -> bool:
    """Discovery, every service and its feedback URL; health checks stay open."""
    return path == "/cds-services" or path.startswith("/cds-services/")


def _loggable(value: Any) -> str | None:
    """Header/claim values come from the caller: short printable strings only."""
    if value is None:
        return None
    return repr(value)[:120] if not isinstance(value, str) else value[:120].encode("unicode_escape").decode()


def init_app(app: Flask, settings: Settings) -> None:
    """Verify the caller's JWT before every protected request; off only in dev mode. A configured
    trust file is read even then: a missing or broken one stops start-up, never goes unnoticed."""
    trust = load_trust(settings.trust_file, settings.dev, settings.jwks_timeout)
    if not settings.authenticate:
        # said once here; each request's log line carries "dev mode: caller not authenticated"
        log.warning("DEV MODE: CDS client authentication is OFF; any caller is accepted")
        return
    if not trust.clients:
        log.warning("no trusted CDS clients configured (NERVE_CDS_TRUST_FILE): every call will get 401")
    storage: Storage | None = app.extensions.get("nerve_cds.storage")
    replay = ReplayCache(storage.replay if storage is not None else None)
    app.extensions["nerve_cds.trust"] = trust

    @app.before_request
    def _authenticate() -> Response | None:
        if request.method == "OPTIONS" or not _protected(request.path):
            return None
        clock: Callable[[], datetime] = current_app.config["NERVE_CDS_CLOCK"]
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        try:
            if scheme.lower() != "bearer" or not token.strip():
                raise AuthError("no bearer token", Claims())
            g.cds_client = verify(token.strip(), endpoint_url(settings), trust, replay, clock().timestamp(),
                                  settings.jwt_max_lifetime_seconds)
        except AuthError as exc:
            seen = exc.args[1] if len(exc.args) > 1 else Claims()
            fields = {"reason": _loggable(exc.args[0]), "iss": _loggable(seen.iss), "kid": _loggable(seen.kid),
                      "jti": _loggable(seen.jti), "path": request.path}
            log.warning("client authentication failed: %s (iss=%s kid=%s jti=%s)", fields["reason"],
                        fields["iss"], fields["kid"], fields["jti"], extra={"fields": fields})
            return Response(status=401, headers={"WWW-Authenticate": "Bearer"})
        return None
