"""HTTP errors that leave the service as FHIR OperationOutcome bodies.

The CDS client is an EHR, not a person: every failure says which status and why, in a body it
can log, and never as a stack trace or an empty list of cards.
"""
from __future__ import annotations

from typing import Any


class HttpError(Exception):
    """An error with its HTTP status and the OperationOutcome issue code that goes with it."""

    status = 500
    issue_code = "exception"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def outcome(self) -> dict[str, Any]:
        return operation_outcome(self.message, self.issue_code)


class BadRequest(HttpError):
    status = 400
    issue_code = "invalid"


class UnknownReference(BadRequest):
    """400: the request names something (a card) this service does not know for this caller."""

    issue_code = "not-found"


class NotFound(HttpError):
    status = 404
    issue_code = "not-found"


class PreconditionFailed(HttpError):
    """412: the data the advice needs could not be had from prefetch or the FHIR server."""

    status = 412
    issue_code = "incomplete"

    def __init__(self, message: str, keys: tuple[str, ...] = ()):
        super().__init__(message)
        self.keys = keys  # the prefetch keys that could not be had


class PayloadTooLarge(HttpError):
    status = 413
    issue_code = "too-long"


class UnsupportedMediaType(HttpError):
    status = 415
    issue_code = "not-supported"


class ServiceUnavailable(HttpError):
    """503: a dependency (the feedback database) is down, or the service is busy; the client may
    retry later (after `retry_after` seconds when given)."""

    status = 503
    issue_code = "transient"

    def __init__(self, message: str, retry_after: int | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class DeadlinePassed(ServiceUnavailable):
    """503: the hook call ran out of its time budget before advice was ready. No cards is not
    'no advice': the answer says so, never an empty list."""

    issue_code = "timeout"


class ServerError(HttpError):
    status = 500
    issue_code = "exception"


def operation_outcome(message: str, code: str = "exception", severity: str = "error") -> dict[str, Any]:
    return {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": severity, "code": code, "diagnostics": message}],
    }
