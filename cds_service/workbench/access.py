"""Who may open the workbench: it shows patient data, so it has its own credential.

Outside dev mode every request needs NERVE_CDS_WORKBENCH_TOKEN, as HTTP Basic (any user name,
the token as password: what a browser prompts for) or as a Bearer token, compared in constant
time. Without a configured token the workbench stays closed. A CDS client's JWT opens nothing
here: it is simply not the token. In dev mode without a token it is open to loopback callers only.
"""
from __future__ import annotations

import base64
import binascii
import hmac
import ipaddress
import logging

from flask import Response, request

from ..core.settings import Settings

log = logging.getLogger("nerve_cds.workbench")

REALM = 'Basic realm="nerve-cds workbench", charset="UTF-8"'


def _presented() -> str | None:
    """The credential in the Authorization header, Bearer or Basic (the password part)."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer" and value:
        return value
    if scheme.lower() == "basic" and value:
        try:
            decoded = base64.b64decode(value, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return decoded.partition(":")[2] or None
    return None


def viewer() -> str:
    """Who is looking, for the audit of patient ids shown: the HTTP Basic user name the analyst
    typed (the token is shared, so the name is what tells analysts apart), else how they got in."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "basic" and value.strip():
        try:
            name = base64.b64decode(value.strip(), validate=True).decode("utf-8").partition(":")[0].strip()
        except (binascii.Error, UnicodeDecodeError):
            name = ""
        name = "".join(ch for ch in name if ch.isprintable())[:200]  # kept in the audit table as typed, minus control characters
        if name:
            return name
    if scheme.lower() == "bearer":
        return "(bearer token)"
    return f"(dev mode, loopback {request.remote_addr})"


def _loopback(address: str | None) -> bool:
    try:
        return address is not None and ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def refuse_unless_allowed(settings: Settings) -> Response | None:
    """None to let the request through, else the 401/403 response."""
    expected = settings.workbench_token.get_secret_value() if settings.workbench_token else ""
    if not expected:
        if settings.dev and _loopback(request.remote_addr):
            return None
        return Response("The workbench needs NERVE_CDS_WORKBENCH_TOKEN outside dev mode (or a loopback caller in dev mode).\n",
                        status=403, mimetype="text/plain")
    given = _presented()
    if given is not None and hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8")):
        return None
    if given is None:  # the browser's first request before it prompts: the normal Basic challenge
        log.info("workbench credential asked for", extra={"fields": {"path": request.path}})
    else:
        log.warning("workbench credential refused", extra={"fields": {"path": request.path}})
    return Response("Workbench credential required.\n", status=401, mimetype="text/plain",
                    headers={"WWW-Authenticate": REALM})
