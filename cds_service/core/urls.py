"""Whether a host or URL is this machine: loopback is where dev mode may use plain http."""
from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit


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
