"""Feedback from clinicians on our cards, validated per CDS Hooks 2.0: the value FeedbackStore.save
takes (interface.py), read from a feedback request body by web/feedback.py, so the HTTP layer
and every store agree on it. Part of the storage interface; no database library and no HTTP error
here."""
from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

# RFC 3339 section 5.6 date-time (the spec asks for UTC; offsets are accepted and normalised).
RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$", re.IGNORECASE
)


class _Coding(BaseModel):
    model_config = ConfigDict(extra="allow")
    # Bounds match the feedback table's columns: longer values are a 400, not a database error.
    system: str = Field(min_length=1, max_length=256)
    code: str = Field(min_length=1, max_length=128)
    display: str | None = Field(default=None, max_length=512)


class _OverrideReason(BaseModel):
    model_config = ConfigDict(extra="allow")
    reason: _Coding | None = None
    userComment: str | None = None


class _Accepted(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: str = Field(min_length=1)


class FeedbackItem(BaseModel):
    model_config = ConfigDict(extra="allow")

    card: str = Field(min_length=1, max_length=64)
    outcome: Literal["accepted", "overridden"]
    acceptedSuggestions: list[_Accepted] | None = None
    overrideReason: _OverrideReason | None = None
    outcomeTimestamp: str

    @model_validator(mode="after")
    def _rules(self) -> "FeedbackItem":
        if self.outcome == "accepted" and not self.acceptedSuggestions:
            raise ValueError("acceptedSuggestions is required when outcome is accepted")
        if not RFC3339.match(self.outcomeTimestamp):
            raise ValueError("outcomeTimestamp must be an RFC 3339 date-time, e.g. 2026-11-24T10:00:00Z")
        self.timestamp()  # a well-formed string can still be an impossible date
        return self

    def timestamp(self) -> datetime:
        try:
            parsed = datetime.fromisoformat(self.outcomeTimestamp.upper().replace("Z", "+00:00"))
        except ValueError:
            raise ValueError("outcomeTimestamp is not a real date-time") from None
        try:
            return parsed.astimezone(timezone.utc)
        except OverflowError:  # e.g. year 1 with a positive offset is before year 1 in UTC
            raise ValueError("outcomeTimestamp is outside the years 1-9999 in UTC") from None
