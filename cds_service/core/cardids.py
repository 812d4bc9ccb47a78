"""Card uuids that prove where they came from: which service issued the card, and to which client.

Feedback names a card only by its uuid, and the row recording the card may be lost (the database
was down when it was issued), so the uuid itself carries the proof. Its 16 bytes are a UUID
version 4 in shape: the first 8 are derived from the card (its hookInstance and topic) under the
key, the last 8 an HMAC-SHA256 over the service id, the client and those first 8 bytes. Only the
holder of the key can make a uuid that checks, and a uuid checks only for the service and client
it was made for: feedback for a made-up uuid, through another service's URL or from another
client is refused without looking anything up. The same card for the same call gets the same
uuid, so a client that sends a hook call again gets the same card uuids back.
"""
from __future__ import annotations

import hashlib
import hmac
import uuid
from typing import Callable

# The client of a call that is not authenticated (dev mode only): every such caller is this one.
ANONYMOUS_CLIENT = "urn:nerve-cds:anonymous"


class CardIds:
    """Makes and checks card uuids under one key."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def minter(self, service_id: str, client: str) -> Callable[[str], str]:
        """The card uuid for each card seed (the engine's `hookInstance|topic`) of one call."""
        return lambda seed: self._uuid(service_id, client, self._mac(b"seed", service_id, client, seed.encode())[:8])

    def issued(self, card: str, service_id: str, client: str) -> bool:
        """Whether `card` is a uuid this key made for this service and client, spelt as it was sent."""
        try:
            parsed = uuid.UUID(card)
        except ValueError:
            return False
        if str(parsed) != card:  # one spelling per card, so feedback cannot be stored twice under two
            return False
        return hmac.compare_digest(self._uuid(service_id, client, parsed.bytes[:8]), card)

    def patient(self, client: str, patient_id: str) -> str:
        """A keyed hash of the patient a card was about, so analytics can count distinct patients
        without keeping their ids; per client, since two EHRs' ids may name different people."""
        return self._mac(b"patient", "", client, patient_id.encode()).hex()[:32]

    def _uuid(self, service_id: str, client: str, head: bytes) -> str:
        head = head[:6] + bytes([0x40 | head[6] & 0x0F]) + head[7:8]  # version 4
        tag = self._mac(b"card", service_id, client, head)[:8]
        tag = bytes([0x80 | tag[0] & 0x3F]) + tag[1:]  # RFC 4122 variant
        return str(uuid.UUID(bytes=head + tag))

    def _mac(self, purpose: bytes, service_id: str, client: str, data: bytes) -> bytes:
        """HMAC-SHA256 over length-prefixed parts, so no two different inputs run together."""
        parts = (purpose, service_id.encode(), client.encode(), data)
        message = b"".join(len(part).to_bytes(4, "big") + part for part in parts)
        return hmac.new(self._key, message, hashlib.sha256).digest()
