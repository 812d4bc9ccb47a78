"""gunicorn's own log lines without secrets. gunicorn logs a request it cannot parse as it came:
a header line without its colon (`Authorization Bearer eyJ...`) or a request line with its query
string. Those lines are written before the app sees the request, so the app's log hygiene does
not reach them; this filter on gunicorn's loggers does."""
from __future__ import annotations

import logging
import re
from typing import Any

from gunicorn.glogging import Logger

_BEARER = re.compile(r"(?i)\b(bearer|basic|token)(\s*[:=]?\s*)[^\s'\",]+")
_JWT = re.compile(r"eyJ[A-Za-z0-9_\-]*(?:\.[A-Za-z0-9_\-]*){0,2}")
_QUERY = re.compile(r"\?[^\s'\"]*")
_AUTH_HEADER = re.compile(r"(?i)(authorization|cookie|x-api-key)([\s:=]+)[^'\"\r\n]+")
REDACTED = "<redacted>"


def redact(text: str) -> str:
    """`text` with bearer tokens, JWT-shaped strings, credential header values and query strings
    replaced: what is left says what went wrong, never with what."""
    text = _AUTH_HEADER.sub(lambda m: f"{m[1]}{m[2]}{REDACTED}", text)
    text = _BEARER.sub(lambda m: f"{m[1]}{m[2]}{REDACTED}", text)
    text = _JWT.sub(REDACTED, text)
    return _QUERY.sub("?" + REDACTED, text)


class Redact(logging.Filter):
    """Rewrites each record's message (and the text of an attached traceback) through redact()."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = ()
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        return True


class RedactingLogger(Logger):
    """gunicorn's logger (set as `logger_class`) with Redact on its error and access loggers."""

    def __init__(self, cfg: Any):
        super().__init__(cfg)
        for log in (self.error_log, self.access_log):
            log.addFilter(Redact())
