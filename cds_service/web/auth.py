"""Authenticating the CDS client: a signed JWT on every call, as CDS Hooks 2.0 requires.

Checks follow the spec's best-practice order: issuer allowlisted, audience is exactly the URL
called, token not expired, tenant allowed, signature valid, jti never seen before. A failure is a
bare 401: the reason goes to our log (with iss, kid and jti), never to the caller, and the token
itself is never logged.
"""
from __future__ import annotations

import hashlib
import logging
import os
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable

import jwt
from flask import Flask, Response, current_app, g, request
from sqlalchemy import Column, Float, MetaData, String, Table, create_engine, delete, insert
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from ..core.settings import Settings
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


_JTI_TABLE = Table(
    "nerve_cds_jti_seen", MetaData(),
    Column("key", String(64), primary_key=True),  # sha256 of iss and jti: fixed size, no token text
    Column("expires", Float, nullable=False, index=True),
)


class ReplayCache:
    """jti values seen, each kept until its token can no longer be accepted (exp plus skew).

    Always in process; also in the database when a URL is given, so that a token accepted by one
    gunicorn worker or replica is refused by the others. If that database is down we fall back to
    the in-process cache (and say so) rather than refuse every caller."""

    def __init__(self, database_url: str | None = None) -> None:
        self._seen: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()
        self._url = database_url
        self._engine: tuple[int, Engine] | None = None
        self._engine_lock = threading.Lock()

    def add(self, iss: str, jti: str, exp: float, now: float) -> bool:
        """False if this jti was already used by this issuer."""
        expires_at = exp + CLOCK_SKEW_SECONDS
        with self._lock:
            if len(self._seen) > 10_000:
                self._seen = {k: v for k, v in self._seen.items() if v > now}
            expires = self._seen.get((iss, jti))
            if expires is not None and expires > now:
                return False
            self._seen[(iss, jti)] = expires_at
        return self._add_shared(iss, jti, expires_at, now) if self._url else True

    def _add_shared(self, iss: str, jti: str, expires_at: float, now: float) -> bool:
        key = hashlib.sha256(f"{iss}\0{jti}".encode()).hexdigest()
        try:
            with self._shared_engine().begin() as conn:
                conn.execute(delete(_JTI_TABLE).where(_JTI_TABLE.c.expires <= now, _JTI_TABLE.c.key == key))
                conn.execute(insert(_JTI_TABLE).values(key=key, expires=expires_at))
                if key.startswith("00"):  # about one call in 256 clears expired entries
                    conn.execute(delete(_JTI_TABLE).where(_JTI_TABLE.c.expires <= now))
            return True
        except IntegrityError:
            return False
        except SQLAlchemyError as exc:
            log.warning("shared jti replay cache unavailable; this process's cache only",
                        extra={"fields": {"error": exc.__class__.__name__}})
            return True

    def _shared_engine(self) -> Engine:
        """One engine per process: a pool must not cross gunicorn's fork."""
        with self._engine_lock:
            if self._engine is None or self._engine[0] != os.getpid():
                engine = create_engine(str(self._url), pool_pre_ping=True)
                _JTI_TABLE.metadata.create_all(engine, checkfirst=True)
                self._engine = (os.getpid(), engine)
            return self._engine[1]


def verify(token: str, audience: str, trust: Trust, replay: ReplayCache, now: float) -> Client:
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
    _check_times(claims, now, seen)
    if client.tenant is not None and claims.get("tenant") != client.tenant:
        raise AuthError("tenant not allowed", seen)
    if not replay.add(client.iss, str(claims["jti"]), float(claims["exp"]), now):
        raise AuthError("jti replayed", seen)
    return client


def _check_times(claims: dict[str, Any], now: float, seen: Claims) -> None:
    exp, iat = claims.get("exp"), claims.get("iat")
    if not isinstance(exp, (int, float)) or not isinstance(iat, (int, float)):
        raise AuthError("exp and iat must be numbers", seen)
    if exp < now - CLOCK_SKEW_SECONDS:
        raise AuthError("expired", seen)
    if iat > now + CLOCK_SKEW_SECONDS:
        raise AuthError("iat in the future", seen)
    nbf = claims.get("nbf")
    if isinstance(nbf, (int, float)) and nbf > now + CLOCK_SKEW_SECONDS:
        raise AuthError("not yet valid", seen)


def endpoint_url(settings: Settings) -> str:
    """The exact URL called, as the client saw it (configured base URL behind a proxy)."""
    base = settings.public_base_url.rstrip("/") or request.host_url.rstrip("/") + request.script_root
    return base + request.path


def _protected(path: str) -> bool:
    """Discovery, every service and its feedback URL; health checks stay open."""
    return path == "/cds-services" or path.startswith("/cds-services/")


def _loggable(value: Any) -> str | None:
    """Header/claim values come from the caller: short printable strings only."""
    if value is None:
        return None
    return repr(value)[:120] if not isinstance(value, str) else value[:120].encode("unicode_escape").decode()


def init_app(app: Flask, settings: Settings) -> None:
    """Verify the caller's JWT before every protected request; off only in dev mode."""
    if not settings.authenticate:
        log.warning("DEV MODE: CDS client authentication is OFF; any caller is accepted")

        @app.before_request
        def _unauthenticated() -> None:
            if _protected(request.path):
                log.warning("DEV MODE: unauthenticated call accepted", extra={"fields": {"path": request.path}})

        return
    trust = load_trust(settings.trust_file, settings.dev)
    if not trust.clients:
        log.warning("no trusted CDS clients configured (NERVE_CDS_TRUST_FILE): every call will get 401")
    replay = ReplayCache(settings.database_url or None)
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
            g.cds_client = verify(token.strip(), endpoint_url(settings), trust, replay, clock().timestamp())
        except AuthError as exc:
            seen = exc.args[1] if len(exc.args) > 1 else Claims()
            fields = {"reason": _loggable(exc.args[0]), "iss": _loggable(seen.iss), "kid": _loggable(seen.kid),
                      "jti": _loggable(seen.jti), "path": request.path}
            log.warning("client authentication failed: %s (iss=%s kid=%s jti=%s)", fields["reason"],
                        fields["iss"], fields["kid"], fields["jti"], extra={"fields": fields})
            return Response(status=401, headers={"WWW-Authenticate": "Bearer"})
        return None
