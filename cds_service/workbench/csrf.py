"""Cross-site request forgery protection for the workbench's forms.

A browser adds the workbench credential (HTTP Basic, once typed) to every request, and in dev mode
loopback needs none, whichever site's page starts the request; so a page elsewhere could make an
analyst's browser post to the workbench. Every request that is not GET, HEAD or OPTIONS must:

- come from the workbench's own origin: its Origin header (or, without one, its Referer) names
  this scheme://host, or that of NERVE_CDS_PUBLIC_BASE_URL behind a proxy; and
- carry the form field `csrf_token`, signed here for the nonce in this browser's own cookie (a
  signed double-submit token): a token taken from another browser, another key or more than
  TOKEN_MAX_AGE ago is refused.

The cookie is HttpOnly, SameSite=Strict (a cross-site post does not even carry it), limited to
/workbench, and Secure over https. Tokens are signed with itsdangerous, which Flask itself depends
on: the key comes from NERVE_CDS_WORKBENCH_TOKEN, so every worker and replica accepts what
another issued; without a token (dev mode) it is random per process, made before gunicorn forks.
Flask-WTF would need a Flask session and SECRET_KEY for this, would guard the CDS endpoints too
(they would need exempting), and checks only the Referer, and only over https.
"""
from __future__ import annotations

import hmac
import secrets
from urllib.parse import urlsplit

from flask import Response, g, request
from itsdangerous import BadData, URLSafeTimedSerializer

from ..core.settings import Settings

COOKIE = "nerve_cds_csrf"
FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
TOKEN_MAX_AGE = 12 * 3600  # seconds: a form left open over a working day still posts
_SALT = "nerve-cds workbench csrf"


def signer(settings: Settings) -> URLSafeTimedSerializer:
    """The app's token signer; made once per app (so before the workers fork)."""
    key = settings.workbench_token.get_secret_value() if settings.workbench_token else secrets.token_urlsafe(32)
    return URLSafeTimedSerializer(key, salt=_SALT)


def _nonce() -> str:
    """This browser's nonce: from its cookie, or a new one that after_request sets."""
    given = request.cookies.get(COOKIE, "")
    if 20 <= len(given) <= 100 and given.isascii():
        return given
    if "csrf_nonce" not in g:
        g.csrf_nonce = secrets.token_urlsafe(32)
    return str(g.csrf_nonce)


def token(tokens: URLSafeTimedSerializer) -> str:
    """The value of a form's hidden `csrf_token` field, for this browser."""
    return str(tokens.dumps(_nonce()))


def set_cookie(response: Response) -> Response:
    """Give the browser the nonce a page's tokens were signed for, if it had none."""
    if "csrf_nonce" in g:
        response.set_cookie(COOKIE, g.csrf_nonce, path="/workbench", httponly=True, samesite="Strict",
                            secure=request.is_secure)
    return response


def _origin(url: str) -> str | None:
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    return f"{parts.scheme}://{parts.netloc}".lower() if parts.scheme and parts.netloc else None


def _same_origin(settings: Settings) -> bool:
    ours = {_origin(request.host_url), _origin(settings.public_base_url)} - {None}
    claimed = request.headers.get("Origin")
    if claimed is None:
        referer = request.headers.get("Referer")
        return referer is None or _origin(referer) in ours  # neither header: the token alone decides
    return _origin(claimed) in ours  # "null" (a sandboxed frame, a file) is no origin of ours


def _signed_for_this_browser(tokens: URLSafeTimedSerializer) -> bool:
    cookie = request.cookies.get(COOKIE)
    given = request.form.get(FIELD)
    if not cookie or not given:
        return False
    try:
        nonce = tokens.loads(given, max_age=TOKEN_MAX_AGE)
    except BadData:
        return False
    return isinstance(nonce, str) and hmac.compare_digest(nonce.encode(), cookie.encode())


def refuse_forged(settings: Settings, tokens: URLSafeTimedSerializer) -> Response | None:
    """None for a safe method or a request from our own page, else a 403 saying what to do."""
    if request.method in SAFE_METHODS:
        return None
    if not _same_origin(settings):
        problem = "it comes from another site (Origin/Referer)"
    elif not _signed_for_this_browser(tokens):
        problem = "its form token is missing, expired or not this browser's; reload the page and send it again"
    else:
        return None
    return Response(f"Cross-site request refused: {problem}.\n", status=403, mimetype="text/plain")
