"""Outbound http(s) URLs read once, strictly, the way the HTTP client will read them; and whether
a host is this machine (loopback is where dev mode may use plain http).

A URL from a request (fhirServer, a searchset's `next` link) is attacker-controlled. If the check
that compares it with the allowlist and the client that connects read it differently (a backslash
or an `@` in the authority, percent-encoded or unicode host names, whitespace, odd ports), the
check passes for one host while the client calls another. So a URL is accepted only in a plain
form that every parser involved reads alike: the connector's own (urllib3's parse_url, which
requests uses to prepare a URL, and urllib.parse, which requests uses to pick the connection), and
it is then sent as the text rebuilt from the parts that were checked.
"""
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from urllib3.exceptions import LocationParseError
from urllib3.util import parse_url

DEFAULT_PORTS = {"http": 80, "https": 443}
_SCHEME = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?P<authority>[^/?#]*)(?P<path>[^?#]*)"
                     r"(?:\?(?P<query>[^#]*))?(?P<fragment>#.*)?")
# A DNS name (lower case, no trailing dot) or a bracketed IPv6 address; a port 1-65535.
_LABEL = r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?"
_AUTHORITY = re.compile(rf"(?P<host>{_LABEL}(?:\.{_LABEL})*|\[(?P<ipv6>[0-9a-f:.]+)\])(?::(?P<port>[1-9][0-9]{{0,4}}))?")
# Characters a path may hold as they are (RFC 3986 pchar); a query may hold `?` too. Any other
# printable character is percent-encoded here, as urllib3 would do it.
_PATH_SAFE = "!$&'()*+,;=:@/"
_ESCAPES = re.compile(r"(?:[^%]|%[0-9A-Fa-f]{2})*")
_PERCENT = re.compile(r"%[0-9A-Fa-f]{2}")
_UNRESERVED = re.compile(r"[A-Za-z0-9._~-]")


class UrlError(ValueError):
    """Not an http(s) URL that every parser on the way reads alike; the message never quotes it."""


@dataclass(frozen=True)
class HttpUrl:
    """An http(s) URL as checked: lower-case scheme and host, the port the client connects to,
    and a path and query in the one spelling the client sends unchanged."""

    scheme: str
    host: str  # an IPv6 address without brackets
    port: int
    path: str
    query: str = ""

    @property
    def origin(self) -> tuple[str, str, int]:
        return self.scheme, self.host, self.port

    @property
    def text(self) -> str:
        """The URL rebuilt from its checked parts: what is sent."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        port = "" if DEFAULT_PORTS[self.scheme] == self.port else f":{self.port}"
        return f"{self.scheme}://{host}{port}{self.path}" + (f"?{self.query}" if self.query else "")

    def within(self, base: "HttpUrl") -> bool:
        """Same origin as `base`, and its path is base's path or below it (on a segment boundary)."""
        prefix = base.path.rstrip("/")
        return self.origin == base.origin and (self.path.rstrip("/") == prefix or self.path.startswith(prefix + "/"))


def parse_http_url(text: str) -> HttpUrl:
    """`text` as an HttpUrl, or UrlError saying what is refused.

    Refused: anything but printable ASCII (whitespace, control characters, unicode look-alikes of
    dots or letters), backslashes, user info, percent-encoding in the host, a host that is neither
    a DNS name nor an IP address in its usual form (trailing dots, `127.1`, `0x7f.0.0.1`, IPv6 zone
    ids), a port outside 1-65535, dot segments or needlessly percent-encoded characters in the path,
    a fragment, and anything the connector's parsers would read otherwise.
    """
    if not text.isascii() or not text.isprintable() or " " in text:
        raise UrlError("only printable ASCII without spaces or control characters is accepted")
    if "\\" in text:
        raise UrlError("a backslash is not accepted")
    match = _SCHEME.fullmatch(text)
    if not match:
        raise UrlError("not an absolute URL (scheme://host...)")
    scheme = match["scheme"].lower()
    if scheme not in DEFAULT_PORTS:
        raise UrlError("only http and https are accepted")
    if match["fragment"] is not None:
        raise UrlError("a fragment (#...) is not accepted")
    host, port = _authority(match["authority"], scheme)
    url = HttpUrl(scheme, host, port, _canonical(match["path"], _PATH_SAFE, "path"),
                  _canonical(match["query"] or "", _PATH_SAFE + "?", "query"))
    if any(segment in (".", "..") for segment in url.path.split("/")):
        raise UrlError("dot segments (/./, /../) in the path are not accepted")
    _same_for_the_connector(url)
    return url


def parse_base_url(text: str) -> HttpUrl:
    """A base URL (a FHIR server, an allowlist entry, the service's public URL): parse_http_url's
    rules, and no query."""
    url = parse_http_url(text)
    if url.query:
        raise UrlError("a base URL has no query")
    return url


def _authority(authority: str, scheme: str) -> tuple[str, int]:
    if "@" in authority:
        raise UrlError("user info (user@host) is not accepted")
    if "%" in authority:
        raise UrlError("a percent-encoded host is not accepted")
    match = _AUTHORITY.fullmatch(authority.lower())
    if not match:
        raise UrlError("the host is not a DNS name or an IP address, or the port is not 1-65535")
    port = int(match["port"] or DEFAULT_PORTS[scheme])
    if port > 65535:
        raise UrlError("the port is not 1-65535")
    if match["ipv6"] is not None:
        try:
            return ipaddress.IPv6Address(match["ipv6"]).compressed, port
        except ValueError:
            raise UrlError("the host is not an IPv6 address") from None
    host = match["host"]
    last = host.rsplit(".", 1)[-1]
    if last.isdigit() or last.startswith("0x"):  # numeric: only the usual dotted quad
        try:
            return str(ipaddress.IPv4Address(host)), port
        except ValueError:
            raise UrlError("a numeric host must be an IPv4 address a.b.c.d") from None
    return host, port


def _canonical(part: str, safe: str, name: str) -> str:
    """`part` percent-encoded where it must be, escapes in upper case; a `%` that starts no escape
    is refused, and so is an escape of an unreserved character (`%2e`): the client would send it
    decoded."""
    part = quote(part, safe=safe + "%")
    if not _ESCAPES.fullmatch(part):
        raise UrlError(f"the {name} has a % that starts no %XX escape")

    def upper(escape: re.Match[str]) -> str:
        decoded = chr(int(escape.group()[1:], 16))
        if _UNRESERVED.fullmatch(decoded):
            raise UrlError(f"the {name} percent-encodes a character that needs no encoding")
        return escape.group().upper()

    return _PERCENT.sub(upper, part)


def _same_for_the_connector(url: HttpUrl) -> None:
    """The rebuilt text means the same to urllib3 (how requests prepares it) and to urllib.parse
    (how requests chooses the connection): same scheme, host, port, path and query."""
    text = url.text
    try:
        prepared = parse_url(text)
        split = urlsplit(text)
        split_port = split.port
    except (LocationParseError, ValueError):
        raise UrlError("the connector cannot read it") from None
    ours = (url.scheme, url.host, url.port, url.path, url.query or None)
    theirs = (prepared.scheme, (prepared.host or "").strip("[]"), prepared.port or DEFAULT_PORTS.get(prepared.scheme or "", 0),
              prepared.path or "", prepared.query)
    split_view = (split.scheme, split.hostname or "", split_port or DEFAULT_PORTS.get(split.scheme, 0),
                  split.path, split.query or None)
    if theirs != ours or split_view != ours:
        raise UrlError("the connector would read it differently")


def is_loopback_host(host: str) -> bool:
    if host.lower() in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def is_loopback_http(url: str) -> bool:
    """A plain-http URL whose host is loopback."""
    parts = urlsplit(url)
    return parts.scheme == "http" and is_loopback_host(parts.hostname or "")
