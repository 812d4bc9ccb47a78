"""The feedback report per card library version: what clinicians did with the cards of each
version, so a library change can be judged before and after it went live. Plain dataclasses."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

NO_VERSION = "(before versions were recorded)"  # cards issued before migration 0004


@dataclass
class Counts:
    issued: int = 0
    accepted: int = 0
    overridden: int = 0

    @property
    def acceptance(self) -> float | None:
        answered = self.accepted + self.overridden
        return self.accepted / answered if answered else None


@dataclass
class VersionStats:
    version: str
    first_issued: datetime | None = None
    last_issued: datetime | None = None
    total: Counts = field(default_factory=Counts)
    topics: dict[str, Counts] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {"version": self.version,
                "firstIssued": self.first_issued.isoformat() if self.first_issued else None,
                "lastIssued": self.last_issued.isoformat() if self.last_issued else None,
                **vars(self.total), "topics": {t: vars(c) for t, c in sorted(self.topics.items())}}
