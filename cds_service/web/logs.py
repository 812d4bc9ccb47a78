"""One structured JSON line per request: enough to trace a call, nothing about the patient.

Only identifiers of the exchange (hookInstance, service id), timings, card topics and where each
prefetch key came from are logged. Tokens, JWTs and resource contents never are.
"""
from __future__ import annotations

import logging
import sys
from typing import Any

from . import jsonout

REQUEST_LOGGER = "nerve_cds.request"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            line.update(fields)
        return jsonout.dumps(line)


def configure(level: str = "INFO") -> None:
    """JSON lines on stderr for the service's own loggers; idempotent."""
    logger = logging.getLogger("nerve_cds")
    logger.setLevel(level.upper())
    if not any(getattr(h, "_nerve_cds", False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        handler._nerve_cds = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
        logger.propagate = True


def request_line(**fields: Any) -> None:
    """Log the request summary; callers pass only non-sensitive fields."""
    logging.getLogger(REQUEST_LOGGER).info("request", extra={"fields": fields})
